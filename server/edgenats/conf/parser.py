"""Builds nested ConfigMaps from tokens: resolves $variables and inlines include files.

Also owns reading config files from disk (missing, unreadable, not UTF-8 all become ConfigError).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .lexer import Token, TokenKind, tokenize
from .model import ConfigError, ConfigMap, Position

if TYPE_CHECKING:
    from pathlib import Path

MAX_INCLUDE_DEPTH = 16


def load_config(path: str | os.PathLike) -> ConfigMap:
    """Reads and parses a config file, following its includes."""
    from pathlib import Path  # here, not at import: a broker started without a config never loads pathlib

    file_path = Path(path)
    text = read_config_file(file_path, error_filename=str(file_path), error_line=0)
    with _recursion_reported_as(str(file_path)):
        return _parse(text, str(file_path), file_path.parent, (_identity(file_path),))


def parse_config_text(text: str, filename: str = "<string>", base_dir: Path | None = None) -> ConfigMap:
    """Parses config text; includes are found relative to base_dir (default: the working directory)."""
    from pathlib import Path

    with _recursion_reported_as(filename):
        return _parse(text, filename, Path.cwd() if base_dir is None else Path(base_dir), ())


@contextmanager
def _recursion_reported_as(filename: str) -> Iterator[None]:
    # Blocks nest at most MAX_NESTING deep per file, but nested includes multiply that depth.
    try:
        yield
    except RecursionError:
        raise ConfigError(filename, 0, "blocks and includes nested too deeply") from None


def read_config_file(path: Path, error_filename: str, error_line: int, what: str = "config file") -> str:
    """The file's text; a failure is reported at error_filename:error_line (who asked for the file)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(error_filename, error_line, f"{what} '{path}' not found") from None
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ConfigError(error_filename, error_line, f"cannot read {what} '{path}': {reason}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        message = f"not valid UTF-8: byte 0x{data[err.start]:02x} cannot be decoded"
        raise ConfigError(str(path), line, message) from None


def _identity(path: Path) -> str:
    try:
        return str(path.resolve())
    except (OSError, ValueError, RuntimeError):
        return str(path.absolute())


def _parse(text: str, filename: str, base_dir: Path, include_chain: tuple[str, ...]) -> ConfigMap:
    return _Parser(tokenize(text, filename), filename, base_dir, include_chain).parse()


class _Parser:
    def __init__(self, tokens: list[Token], filename: str, base_dir: Path, include_chain: tuple[str, ...]):
        self.tokens: Iterator[Token] = iter(tokens)
        self.filename = filename
        self.base_dir = base_dir
        self.include_chain = include_chain
        # The maps being filled, outermost first: variables are looked up from the innermost outwards.
        self.scopes: list[ConfigMap] = []

    def parse(self) -> ConfigMap:
        root = ConfigMap()
        self.fill_map(root)
        return root

    def fill_map(self, mapping: ConfigMap) -> None:
        self.scopes.append(mapping)
        for token in self.tokens:
            if token.kind in (TokenKind.MAP_END, TokenKind.EOF):
                break
            if token.kind is TokenKind.INCLUDE:
                self.include(mapping, token)
            else:
                value = self.value(next(self.tokens))
                mapping.set_entry(str(token.value), value, Position(self.filename, token.line))
        self.scopes.pop()

    def value(self, token: Token) -> object:
        if token.kind is TokenKind.MAP_START:
            mapping = ConfigMap()
            self.fill_map(mapping)
            return mapping
        if token.kind is TokenKind.ARRAY_START:
            items = []
            for item in self.tokens:
                if item.kind is TokenKind.ARRAY_END:
                    break
                items.append(self.value(item))
            return items
        if token.kind is TokenKind.VARIABLE:
            return self.lookup(str(token.value), token.line)
        return token.value

    def lookup(self, name: str, line: int) -> object:
        for scope in reversed(self.scopes):
            if name in scope:
                scope.used_as_variables.add(name)
                return copy.deepcopy(scope[name])
        if name in os.environ:
            return _environment_value(name, os.environ[name])
        raise ConfigError(self.filename, line,
                          f"undefined variable '${name}': no earlier key or environment variable '{name}'")

    def include(self, mapping: ConfigMap, token: Token) -> None:
        name = str(token.value)
        target = self.base_dir / name
        identity = _identity(target)
        if len(self.include_chain) >= MAX_INCLUDE_DEPTH:
            message = f"includes nested deeper than {MAX_INCLUDE_DEPTH} files at '{name}'"
            raise ConfigError(self.filename, token.line, message)
        if identity in self.include_chain:
            chain = " -> ".join([*self.include_chain, identity])
            message = f"include cycle: '{name}' is already being read ({chain})"
            raise ConfigError(self.filename, token.line, message)
        text = read_config_file(target, self.filename, token.line, what="include file")
        included = _parse(text, str(target), target.parent, (*self.include_chain, identity))
        for key, value in included.items():
            mapping.set_entry(key, value, included.positions[key])


def _environment_value(name: str, raw: str) -> object:
    """An environment value read as a config value ("1MB" -> int, "true" -> bool), else as plain text."""
    try:
        tokens = tokenize(f"value = {raw}", f"environment variable {name}")
    except ConfigError:
        return raw
    if any(token.kind in (TokenKind.VARIABLE, TokenKind.INCLUDE) for token in tokens):
        return raw
    from pathlib import Path

    parsed = _Parser(tokens, f"environment variable {name}", Path.cwd(), ()).parse()
    return parsed["value"] if list(parsed) == ["value"] else raw
