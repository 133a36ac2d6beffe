"""Syntax errors: always a ConfigError naming the file, the 1-based line and the problem."""

import pytest
from edgenats.conf import ConfigError, parse_config_text

CASES = [
    # (text, line, message fragment)
    ('a: 1\nb: "never closed\nc: 3\n', 2, "unterminated string"),
    ("a: 1\nb: 'never closed\n", 2, "unterminated string"),
    ("auth {\n  user: a\n", 1, "missing '}' for the '{' opened on line 1"),
    ("a: 1\n}\n", 2, "unbalanced '}'"),
    ("list: [\n  1,\n  2\n", 1, "missing ']' for the '[' opened on line 1"),
    ("a: [1, 2]]\n", 1, "unexpected ']'"),
    ("a: {b: 1]\n", 1, "unexpected ']'"),
    ("a: [1 }\n", 1, "unexpected '}'"),
    ("a:\nb: 1\n", 1, "missing value for key 'a'"),
    ("a: 1\nb =\n", 2, "missing value for key 'b'"),
    ("a: 1\nlonely\n", 2, "missing value for key 'lonely'"),
    ("x { a: }\n", 1, "missing value for key 'a'"),
    ("a: 1, , b: 2\n", 1, "unexpected ','"),
    ("a: [1,, 2]\n", 1, "unexpected ',' in array"),
    ("a: [,]\n", 1, "unexpected ',' in array"),
    ("\n\n: 1\n", 3, "expected a key before ':'"),
    ("a: 1 b: 2\n", 1, "unexpected 'b' after the value of 'a'"),
    ('a: "x" y\n', 1, "unexpected 'y'"),
    ("a: 1.5s\n", 1, "bad number '1.5s'"),
    ("a: 1.\n", 1, "bad number '1.'"),
    ("a: .5\n", 1, "bad number '.5'"),
    ("a: 99999999999999999999\n", 1, "bad number '99999999999999999999': out of the 64-bit integer range"),
    ("a: 9000000000000000000k\n", 1, "out of the 64-bit integer range"),
    ('a: "bad \\q escape"\n', 1, "invalid escape '\\q'"),
    ('a: "bad \\u12"\n', 1, "invalid escape '\\u12"),
    ("a: 1\nb: $UNDEFINED_EDGENATS_VAR\n", 2, "undefined variable '$UNDEFINED_EDGENATS_VAR'"),
    ("include\n", 1, "missing value for key 'include'"),
    ("{ a: 1 }\nb: 2\n", 2, "after the '}' that closes the file"),
    ("{ a: 1\n", 1, "missing '}' for the '{' that opens the file on line 1"),
    ("[1]\n", 1, "unexpected '['"),
]


@pytest.mark.parametrize("text, line, fragment", CASES)
def test_error_names_file_line_and_problem(text, line, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_config_text(text, filename="bad.conf")
    error = caught.value
    assert (error.filename, error.line) == ("bad.conf", line)
    assert fragment in error.message
    assert str(error) == f"bad.conf:{line}: {error.message}"


def test_too_deep_nesting_is_a_config_error_not_a_crash():
    with pytest.raises(ConfigError, match="nested deeper"):
        parse_config_text("a: " + "[" * 5000)


def test_error_line_counts_lines_inside_multiline_strings():
    with pytest.raises(ConfigError) as caught:
        parse_config_text('a: "one\ntwo\nthree"\nb: [\n')
    assert caught.value.line == 4
