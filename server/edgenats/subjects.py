"""Subject rules: validation of configured, subscribed and published subjects, and wildcard matching.

Subjects are handled as `str` (decoded latin-1 from the wire, so every byte maps to one character
and nothing can fail to decode). Wildcards are whole tokens only: `*` is one token, `>` the rest.
Queue names have no rule of their own: as in nats-server, any protocol argument is a queue name.
"""

_WHITESPACE = frozenset(" \t\r\n\f")


def _has_whitespace(text: str) -> bool:
    return any(ch in _WHITESPACE for ch in text)


def is_valid_subject(subject: str) -> bool:
    """A subject in configuration: no whitespace, non-empty tokens, `>` only as the last token."""
    return bool(subject) and not _has_whitespace(subject) and is_valid_subscription_subject(subject)


def is_valid_subscription_subject(subject: str) -> bool:
    """A SUB or LS+ subject as nats-server's sublist takes it: non-empty tokens, `>` only as the last.

    No whitespace rule: the protocol's argument separators (space, tab, CR, LF) never reach here,
    and nats-server subscribes to subjects holding a vertical tab or form feed.
    """
    tokens = subject.split(".")
    last = len(tokens) - 1
    for index, token in enumerate(tokens):
        if not token:
            return False
        if token == ">" and index != last:
            return False
    return True


def is_valid_literal_subject(subject: str) -> bool:
    """A publish subject in pedantic mode: a valid subject without wildcard tokens."""
    if not is_valid_subject(subject):
        return False
    return all(token not in ("*", ">") for token in subject.split("."))


def subject_matches(pattern: str, subject: str) -> bool:
    """True when the literal `subject` is matched by `pattern` (which may hold wildcards)."""
    pattern_tokens = pattern.split(".")
    subject_tokens = subject.split(".")
    for index, token in enumerate(pattern_tokens):
        if token == ">":
            return len(subject_tokens) > index
        if index >= len(subject_tokens):
            return False
        if token != "*" and token != subject_tokens[index]:
            return False
    return len(pattern_tokens) == len(subject_tokens)


def subject_is_subset(narrow: str, wide: str) -> bool:
    """True when every subject matched by the pattern `narrow` is also matched by `wide`."""
    narrow_tokens = narrow.split(".")
    wide_tokens = wide.split(".")
    for index, token in enumerate(wide_tokens):
        if token == ">":
            return len(narrow_tokens) > index
        if index >= len(narrow_tokens) or narrow_tokens[index] == ">":
            return False
        if token != "*" and token != narrow_tokens[index]:
            return False
    return len(narrow_tokens) == len(wide_tokens)


def subjects_overlap(first: str, second: str) -> bool:
    """True when some literal subject is matched by both patterns."""
    first_tokens = first.split(".")
    second_tokens = second.split(".")
    for index, token in enumerate(first_tokens):
        if index >= len(second_tokens):
            return False
        other = second_tokens[index]
        if token == ">" or other == ">":
            return True
        if token != other and "*" not in (token, other):
            return False
    return len(first_tokens) == len(second_tokens)
