"""Subject mappings of imports: a source pattern rewritten to a destination, as nats-server does.

`*` tokens of the destination take the source's `*` tokens in order, `$N` (or `{{wildcard(N)}}`)
takes the N-th, and `>` takes the source's trailing tokens: `a.*.>` mapped to `b.*.>` turns
`a.x.y.z` into `b.x.y.z`, and `a.*.*` mapped to `b.$2.$1` turns `a.x.y` into `b.y.x`.
"""

from __future__ import annotations

import re

from edgenats.subjects import is_valid_subject

_REFERENCE = re.compile(r"\$(\d+)|\{\{\s*wildcard\s*\(\s*(\d+)\s*\)\s*\}\}", re.IGNORECASE)


class SubjectMapping:
    """Rewrites literal subjects matched by `source` into `destination`; raises ValueError if unusable."""

    __slots__ = ("source", "destination", "_stars", "_rest", "_plan")

    def __init__(self, source: str, destination: str, use_all_wildcards: bool) -> None:
        if not is_valid_subject(source):
            raise ValueError(f"invalid subject {source!r}")
        if not is_valid_subject(destination):
            raise ValueError(f"invalid mapping destination {destination!r}")
        self.source = source
        self.destination = destination
        source_tokens = source.split(".")
        self._stars = tuple(index for index, token in enumerate(source_tokens) if token == "*")
        self._rest = len(source_tokens) - 1 if source_tokens[-1] == ">" else None
        # Each destination token: a literal, the index of a source `*` (0-based), or ">" for the rest.
        plan: list[str | int] = []
        positional = 0
        for token in destination.split("."):
            reference = _REFERENCE.fullmatch(token)
            if token == "*":
                positional += 1
                plan.append(self._star(positional, destination))
            elif reference:
                plan.append(self._star(int(reference.group(1) or reference.group(2)), destination))
            elif token == ">":
                if self._rest is None:
                    raise ValueError(f"{destination!r} uses '>' but {source!r} has none")
                plan.append(">")
            elif "{{" in token:
                raise ValueError(f"mapping function {token!r} is not supported by edgenats")
            else:
                plan.append(token)
        self._plan = tuple(plan)
        uses_wildcards = any(not isinstance(step, str) or step == ">" for step in plan)
        if use_all_wildcards or uses_wildcards:
            used = {step for step in plan if isinstance(step, int)}
            if len(used) != len(self._stars) or (self._rest is not None and ">" not in plan):
                raise ValueError(f"{destination!r} does not use all of the wildcards of {source!r}")

    def _star(self, number: int, destination: str) -> int:
        if not 1 <= number <= len(self._stars):
            raise ValueError(f"{destination!r} refers to wildcard {number}, but {self.source!r} has "
                             f"{len(self._stars)} '*' token(s)")
        return number - 1

    def apply(self, subject: str) -> str:
        """The destination subject for a literal `subject` that `source` matches."""
        tokens = subject.split(".")
        parts = []
        for step in self._plan:
            if isinstance(step, int):
                parts.append(tokens[self._stars[step]])
            elif step == ">":
                parts.append(".".join(tokens[self._rest:]))
            else:
                parts.append(step)
        return ".".join(parts)
