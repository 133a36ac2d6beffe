"""A scoped signing key's permission template filled in for one user, as nats-server fills it.

A subject token written `{{name()}}`, `{{subject()}}` (the user JWT's name and public key),
`{{account-name()}}`, `{{account-subject()}}` (the account JWT's name and key), `{{tag(x)}}` or
`{{account-tag(x)}}` (every value `v` of the user's or account's tags `x:v`, one subject per
combination) is replaced; an unknown function makes the subject invalid. An allow entry that comes
out invalid is left out (and a list left empty becomes `deny: [">"]`); an invalid deny entry refuses
the login (TemplateError).
"""

from __future__ import annotations

from itertools import product

from edgenats.subjects import is_valid_subject

# A tag token's place in a subject until its values are filled in (an empty token: invalid alone).
_TAG_SLOT = ""


class TemplateError(ValueError):
    """A template that makes an invalid deny subject."""


def _token(token: str, values: dict, tag_values: list[list[str]]) -> str:
    if not (token.startswith("{{") and token.endswith("}}")):
        return token
    function = token[2:-2].lower()
    if function in ("name()", "subject()", "account-name()", "account-subject()"):
        return values[function[:-2]]
    for prefix, tags in (("tag(", values["tags"]), ("account-tag(", values["account-tags"])):
        if function.startswith(prefix) and function.endswith(")"):
            wanted = f"{function[len(prefix):-1]}:"
            found = [tag[len(wanted):] for tag in tags if tag.lower().startswith(wanted)]
            if found:
                tag_values.append(found)
            return _TAG_SLOT
    # Not a function nats-server knows: the subject must come out invalid.
    return " "


def _expand(subjects: list[str], values: dict, fail_on_invalid: bool) -> list[str]:
    if not any(token.startswith("{{") and token.endswith("}}") for subject in subjects for token in subject.split(".")):
        return subjects
    emitted = []
    for subject in subjects:
        tag_values: list[list[str]] = []
        tokens = [_token(token, values, tag_values) for token in subject.split(".")]
        combinations = list(product(*tag_values)) if tag_values else [()]
        for combination in combinations:
            filled = iter(combination)
            candidate = ".".join(next(filled, token) if token == _TAG_SLOT and tag_values else token
                                 for token in tokens)
            if is_valid_subject(candidate):
                emitted.append(candidate)
            elif fail_on_invalid:
                raise TemplateError(f"generated invalid subject {candidate!r}")
    return emitted


def apply_template(allow: list[str], deny: list[str], values: dict) -> dict:
    """One permission (`pub` or `sub`) of a template, filled in: `{"allow": [...], "deny": [...]}`.
    `values`: name, subject, account-name, account-subject, tags, account-tags."""
    filled_allow = _expand(allow, values, False)
    filled_deny = _expand(deny, values, True)
    if allow and not filled_allow:
        filled_deny = [*filled_deny, ">"]
    return {"allow": filled_allow, "deny": filled_deny}
