"""Tokenizer for the nats-server config syntax: an explicit state machine over characters.

It owns the syntax (keys, separators, values, nesting, comments, quoting, number and boolean forms)
and turns text into a flat list of tokens; variables and includes are resolved later by the parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from .model import ConfigError
from .units import SIZE_MULTIPLIERS


class TokenKind(Enum):
    KEY = "key"
    INCLUDE = "include"
    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOL = "bool"
    VARIABLE = "variable"
    MAP_START = "{"
    MAP_END = "}"
    ARRAY_START = "["
    ARRAY_END = "]"
    EOF = "end of file"


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    value: object
    line: int


MAX_NESTING = 100
INT64_MAX = 2**63 - 1
MAX_INTEGER_DIGITS = 40
BLANKS = " \t\r"
KEY_ENDS = frozenset(BLANKS + "\n:={[}],;")
BARE_VALUE_ENDS = frozenset(BLANKS + "\n,;]}")
BOOL_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
# An unquoted bcrypt hash ("$2a$11$...") is a password, not a variable reference.
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2x$", "$2y$")
SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "\\": "\\", "/": "/"}
HEX_ESCAPE_LENGTHS = {"x": 2, "u": 4, "U": 8}

_SIZED_INTEGER_RE = re.compile(r"(-?\d+)([a-zA-Z]*)")
_FLOAT_RE = re.compile(r"-?\d+\.\d+")
# Like nats-server, a value that starts as a float but has a second dot is an address ("0.0.0.0:4222").
_ADDRESS_RE = re.compile(r"\d+\.\d+\.[\d.:-]*")
_BROKEN_FLOAT_RE = re.compile(r"-?(\d+\.\D|\d+\.$|\d+\.\d+[^\d.]|\.\d)")

State = Callable[[], "State | None"]


class Lexer:
    """Reads one file's text; `tokens()` returns its tokens or raises ConfigError."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.pos = 0
        self.line = 1
        self.output: list[Token] = []
        # Open brackets: "{", "[" or "file" (a whole file wrapped in braces, JSON style), with their line.
        self.open_blocks: list[tuple[str, int]] = []
        self.last_key = ""
        self.last_key_line = 1

    def tokens(self) -> list[Token]:
        state: State | None = self.file_start
        while state is not None:
            state = state()
        return self.output

    # --- character helpers

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def advance(self) -> str:
        char = self.text[self.pos]
        self.pos += 1
        if char == "\n":
            self.line += 1
        return char

    def at_comment(self) -> bool:
        return self.peek() == "#" or (self.peek() == "/" and self.peek(1) == "/")

    def skip_blanks(self, newlines: bool = False) -> None:
        """Skips spaces, tabs, comments (up to their newline) and, if asked, newlines."""
        while self.pos < len(self.text):
            char = self.peek()
            if char in BLANKS or (newlines and char == "\n"):
                self.advance()
            elif self.at_comment():
                while self.peek() not in ("", "\n"):
                    self.advance()
            else:
                return

    def error(self, message: str, line: int | None = None) -> ConfigError:
        return ConfigError(self.filename, self.line if line is None else line, message)

    def emit(self, kind: TokenKind, value: object = None, line: int | None = None) -> None:
        self.output.append(Token(kind, value, self.line if line is None else line))

    def open_block(self, bracket: str) -> None:
        if len(self.open_blocks) >= MAX_NESTING:
            raise self.error(f"blocks nested deeper than {MAX_NESTING} levels")
        self.open_blocks.append((bracket, self.line))

    def innermost_block(self) -> str:
        return self.open_blocks[-1][0] if self.open_blocks else "file"

    def read_bare(self, ends: frozenset[str]) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ends:
            self.pos += 1
        return self.text[start : self.pos]

    # --- states

    def file_start(self) -> State:
        self.skip_blanks(newlines=True)
        if self.peek() == "{":
            self.advance()
            self.open_block("file")
        return self.key_start

    def key_start(self) -> State | None:
        self.skip_blanks(newlines=True)
        char = self.peek()
        if char == "":
            return self.end_of_text()
        if char == "}":
            return self.close_map()
        if char in "\"'":
            line = self.line
            self.last_key = self.read_quoted()
        elif char in ":=":
            raise self.error(f"expected a key before '{char}'")
        elif char in ",;[]{":
            raise self.error(f"unexpected '{char}': expected a key")
        else:
            line = self.line
            self.last_key = self.read_bare(KEY_ENDS)
            if self.last_key.lower() == "include" and self.peek() in (" ", "\t"):
                return self.include_path
        self.last_key_line = line
        self.emit(TokenKind.KEY, self.last_key, line)
        return self.after_key

    def end_of_text(self) -> None:
        if self.open_blocks:
            bracket, line = self.open_blocks[-1]
            closing = "]" if bracket == "[" else "}"
            opening = "'{' that opens the file" if bracket == "file" else f"'{bracket}' opened"
            raise self.error(f"unexpected end of file: missing '{closing}' for the {opening} on line {line}",
                             line)
        self.emit(TokenKind.EOF)
        return None

    def close_map(self) -> State:
        if not self.open_blocks:
            raise self.error("unbalanced '}': no block is open here")
        self.advance()
        bracket, _ = self.open_blocks.pop()
        if bracket == "file":
            return self.after_file_block
        self.emit(TokenKind.MAP_END)
        return self.value_end

    def after_file_block(self) -> State | None:
        self.skip_blanks(newlines=True)
        if self.peek():
            raise self.error(f"unexpected '{self.peek()}' after the '}}' that closes the file")
        return self.end_of_text()

    def include_path(self) -> State:
        self.skip_blanks()
        line = self.line
        if self.peek() in "\"'" and self.peek():
            path = self.read_quoted()
        else:
            path = self.read_bare(BARE_VALUE_ENDS)
        if not path:
            raise self.error("include needs a file name")
        self.emit(TokenKind.INCLUDE, path, line)
        return self.value_end

    def after_key(self) -> State:
        self.skip_blanks()
        if self.peek() == "\n":
            # A block or separator may follow on a later line ("authorization\n{"); a plain value may not.
            saved = (self.pos, self.line)
            self.skip_blanks(newlines=True)
            if self.peek() == "" or self.peek() not in ":={[":
                self.pos, self.line = saved
                raise self.missing_value()
        if self.peek() != "" and self.peek() in ":=":
            self.advance()
        return self.value

    def missing_value(self) -> ConfigError:
        return self.error(f"missing value for key '{self.last_key}'", self.last_key_line)

    def value(self) -> State:
        self.skip_blanks()
        char = self.peek()
        in_array = self.innermost_block() == "["
        if char in ("", "\n") or (char in ",;}]" and not in_array):
            raise self.missing_value()
        if char in ",;}":
            raise self.error(f"unexpected '{char}' in array: expected a value")
        line = self.line
        if char == "{":
            self.advance()
            self.open_block("{")
            self.emit(TokenKind.MAP_START, line=line)
            return self.key_start
        if char == "[":
            self.advance()
            self.open_block("[")
            self.emit(TokenKind.ARRAY_START, line=line)
            return self.array_value
        if char in "\"'":
            self.emit(TokenKind.STRING, self.read_quoted(), line)
        else:
            kind, word_value = self.classify_bare(self.read_bare(BARE_VALUE_ENDS))
            self.emit(kind, word_value, line)
        return self.value_end

    def value_end(self) -> State:
        self.skip_blanks()
        char = self.peek()
        if self.innermost_block() == "[":
            if char == "":
                return self.end_of_text()
            if char in "\n,":
                self.advance()
                return self.array_value
            if char == "]":
                return self.close_array()
            raise self.error(f"unexpected '{char}' after an array element: expected ',', a new line or ']'")
        if char in ("", "}"):
            return self.key_start
        if char in "\n,;":
            self.advance()
            return self.key_start
        raise self.error(f"unexpected '{char}' after the value of '{self.last_key}': "
                         "expected a new line, ',' or ';'")

    def array_value(self) -> State:
        self.skip_blanks(newlines=True)
        char = self.peek()
        if char == "":
            return self.end_of_text()
        if char == "]":
            return self.close_array()
        if char == ",":
            raise self.error("unexpected ',' in array: expected a value")
        return self.value

    def close_array(self) -> State:
        self.advance()
        self.open_blocks.pop()
        self.emit(TokenKind.ARRAY_END)
        return self.value_end

    # --- value readers

    def read_quoted(self) -> str:
        quote = self.advance()
        start_line = self.line
        parts: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.error(f"unterminated string: missing closing {quote}", start_line)
            char = self.advance()
            if char == quote:
                return "".join(parts)
            if char == "\\" and quote == '"':
                parts.append(self.read_escape())
            else:
                parts.append(char)

    def read_escape(self) -> str:
        code = self.peek()
        if code in SIMPLE_ESCAPES and code:
            self.advance()
            return SIMPLE_ESCAPES[code]
        if code in HEX_ESCAPE_LENGTHS and code:
            self.advance()
            digits = self.text[self.pos : self.pos + HEX_ESCAPE_LENGTHS[code]]
            if len(digits) == HEX_ESCAPE_LENGTHS[code] and all(d in "0123456789abcdefABCDEF" for d in digits):
                self.pos += len(digits)
                codepoint = int(digits, 16)
                if codepoint <= 0x10FFFF:
                    return chr(codepoint)
            raise self.error(f"invalid escape '\\{code}{digits}' in string")
        shown = code if code not in ("", "\n") else ""
        allowed = "\\t \\n \\r \\\" \\\\ \\xXX \\uXXXX"
        raise self.error(f"invalid escape '\\{shown}' in string: allowed are {allowed}")

    def classify_bare(self, word: str) -> tuple[TokenKind, object]:
        if word.startswith("$"):
            return self.classify_dollar(word)
        if word.lower() in BOOL_WORDS:
            return TokenKind.BOOL, BOOL_WORDS[word.lower()]
        sized = _SIZED_INTEGER_RE.fullmatch(word)
        if sized and sized.group(2).lower() in SIZE_MULTIPLIERS:
            if len(sized.group(1)) > MAX_INTEGER_DIGITS:
                raise self.error(f"bad number '{word}': out of the 64-bit integer range")
            number = int(sized.group(1)) * SIZE_MULTIPLIERS[sized.group(2).lower()]
            if not -INT64_MAX - 1 <= number <= INT64_MAX:
                raise self.error(f"bad number '{word}': out of the 64-bit integer range")
            return TokenKind.INTEGER, number
        if _FLOAT_RE.fullmatch(word):
            return TokenKind.FLOAT, float(word)
        if not _ADDRESS_RE.fullmatch(word) and _BROKEN_FLOAT_RE.match(word):
            raise self.error(f"bad number '{word}': a float is digits '.' digits, like 1.5")
        return TokenKind.STRING, word

    def classify_dollar(self, word: str) -> tuple[TokenKind, object]:
        if word.startswith(BCRYPT_PREFIXES):
            return TokenKind.STRING, word
        name = word[1:]
        if not name:
            raise self.error("'$' without a variable name")
        if name.startswith("{"):
            raise self.error(f"'{word}': the ${{NAME}} form is not supported, write $NAME")
        return TokenKind.VARIABLE, name


def tokenize(text: str, filename: str) -> list[Token]:
    """All tokens of one file's text, ending with an EOF token; raises ConfigError on bad syntax."""
    return Lexer(text, filename).tokens()
