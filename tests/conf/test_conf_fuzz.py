"""Fuzzing: arbitrary text and mutated valid configs only ever give a ConfigMap or a ConfigError."""

from pathlib import Path

from conf_examples import HUB, LEAF
from edgenats.conf import ConfigError, ConfigMap, parse_config_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SYNTAX_CHARACTERS = "{}[]:=,;#/\"'\\$\n\t .-0123456789abkmgtrueinclud"
# Fuzzed `include` lines look in a directory that does not exist, so they never read real files.
NO_INCLUDES_DIR = Path(__file__).parent / "fuzz-includes-do-not-exist"
FUZZ_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_config_error(text: str) -> None:
    try:
        result = parse_config_text(text, filename="fuzz.conf", base_dir=NO_INCLUDES_DIR)
    except ConfigError as error:
        assert error.filename == "fuzz.conf"
        assert error.line >= 1
        assert error.message
    else:
        assert isinstance(result, ConfigMap)


@FUZZ_SETTINGS
@given(st.text())
def test_arbitrary_text(text):
    parse_or_config_error(text)


@FUZZ_SETTINGS
@given(st.text(alphabet=SYNTAX_CHARACTERS, max_size=200))
def test_text_made_of_syntax_characters(text):
    parse_or_config_error(text)


@FUZZ_SETTINGS
@given(st.sampled_from([HUB, LEAF]), st.data())
def test_mutated_valid_configs(config, data):
    text = config
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        snippet = data.draw(st.text(alphabet=SYNTAX_CHARACTERS, min_size=1, max_size=3))
        if action == "delete":
            text = text[:position] + text[position + len(snippet):]
        elif action == "insert":
            text = text[:position] + snippet + text[position:]
        else:
            text = text[:position] + snippet + text[position + 1:]
    parse_or_config_error(text)
