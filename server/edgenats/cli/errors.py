"""The error every `edgenats` command raises for a failure the operator should read: one line, no
traceback."""

from __future__ import annotations


class CommandError(Exception):
    """A failure explained in one line; `edgenats` prints it on stderr and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
