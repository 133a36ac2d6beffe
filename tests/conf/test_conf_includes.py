"""include: files inlined into the current block, relative to the including file; file errors."""

from pathlib import Path

import pytest
from edgenats.conf import ConfigError, Position, load_config, parse_config_text


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_load_config_reads_a_file(tmp_path):
    main = write(tmp_path / "main.conf", "port: 4333\nserver_name: edge\n")
    config = load_config(main)
    assert config == {"port": 4333, "server_name": "edge"}
    assert config.position_of("server_name") == Position(str(main), 2)


def test_load_config_accepts_str_path_and_utf8_bom(tmp_path):
    main = tmp_path / "bom.conf"
    main.write_bytes("\ufeffname: 'é'\n".encode())
    assert load_config(str(main)) == {"name": "é"}


@pytest.mark.parametrize("include_line", ["include sub/users.conf", "include 'sub/users.conf'",
                                          'include "sub/users.conf"', "INCLUDE sub/users.conf"])
def test_include_is_relative_to_including_file(tmp_path, include_line, monkeypatch):
    monkeypatch.chdir(tmp_path.parent)
    write(tmp_path / "conf" / "sub" / "users.conf", "users = [ {user: a, password: b} ]\n")
    main = write(tmp_path / "conf" / "main.conf", f"authorization {{\n  {include_line}\n  timeout: 2\n}}\n")
    config = load_config(main)
    assert config == {"authorization": {"users": [{"user": "a", "password": "b"}], "timeout": 2}}
    users_position = config["authorization"].position_of("users")
    assert users_position == Position(str(tmp_path / "conf" / "sub" / "users.conf"), 1)


def test_nested_includes_resolve_from_each_files_own_directory(tmp_path):
    write(tmp_path / "a" / "b" / "leaf.conf", "depth: 2\n")
    write(tmp_path / "a" / "mid.conf", "include b/leaf.conf\nmid: true\n")
    main = write(tmp_path / "main.conf", "include a/mid.conf\ntop: 1\n")
    assert load_config(main) == {"depth": 2, "mid": True, "top": 1}


def test_included_keys_are_variables_for_later_lines(tmp_path):
    write(tmp_path / "secrets.conf", "LEAF_PASS: 's3cret'\n")
    main = write(tmp_path / "main.conf", "include secrets.conf\nleafnodes { authorization { password: $LEAF_PASS } }")
    assert load_config(main)["leafnodes"]["authorization"]["password"] == "s3cret"


def test_later_keys_override_included_ones(tmp_path):
    write(tmp_path / "defaults.conf", "max_payload: 1MB\nping_max: 2\n")
    main = write(tmp_path / "main.conf", "include defaults.conf\nmax_payload: 64KB\n")
    assert load_config(main) == {"max_payload": 65536, "ping_max": 2}


def test_parse_config_text_includes_relative_to_base_dir(tmp_path):
    write(tmp_path / "part.conf", "part: 1")
    assert parse_config_text("include part.conf", base_dir=tmp_path) == {"part": 1}


def test_missing_include_names_including_file_and_line(tmp_path):
    main = write(tmp_path / "main.conf", "port: 1\n\ninclude nowhere.conf\n")
    with pytest.raises(ConfigError) as caught:
        load_config(main)
    assert (caught.value.filename, caught.value.line) == (str(main), 3)
    assert "include file" in caught.value.message and "nowhere.conf" in caught.value.message
    assert "not found" in caught.value.message


def test_include_of_a_directory_is_an_error(tmp_path):
    (tmp_path / "adir").mkdir()
    main = write(tmp_path / "main.conf", "include adir\n")
    with pytest.raises(ConfigError, match="cannot read include file") as caught:
        load_config(main)
    assert caught.value.line == 1


def test_include_cycle_is_detected(tmp_path):
    write(tmp_path / "b.conf", "b: 1\ninclude a.conf\n")
    main = write(tmp_path / "a.conf", "a: 1\ninclude b.conf\n")
    with pytest.raises(ConfigError, match="include cycle") as caught:
        load_config(main)
    assert (caught.value.filename, caught.value.line) == (str(tmp_path / "b.conf"), 2)


def test_self_include_is_a_cycle(tmp_path):
    main = write(tmp_path / "self.conf", "include self.conf\n")
    with pytest.raises(ConfigError, match="include cycle"):
        load_config(main)


def test_syntax_error_in_included_file_points_into_it(tmp_path):
    write(tmp_path / "bad.conf", "ok: 1\nbroken: \"unterminated\n")
    main = write(tmp_path / "main.conf", "include bad.conf\n")
    with pytest.raises(ConfigError, match="unterminated string") as caught:
        load_config(main)
    assert (caught.value.filename, caught.value.line) == (str(tmp_path / "bad.conf"), 2)


def test_missing_file(tmp_path):
    missing = tmp_path / "missing.conf"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert caught.value.line == 0
    assert str(caught.value) == f"{missing}: config file '{missing}' not found"


def test_not_utf8_reports_line(tmp_path):
    main = tmp_path / "latin1.conf"
    main.write_bytes(b"a: 1\nname: '\xe9t\xe9'\n")
    with pytest.raises(ConfigError, match="not valid UTF-8") as caught:
        load_config(main)
    assert (caught.value.filename, caught.value.line) == (str(main), 2)


def test_unreadable_file(tmp_path):
    main = write(tmp_path / "secret.conf", "a: 1\n")
    main.chmod(0)
    try:
        if _can_read(main):
            pytest.skip("running with privileges that ignore file permissions")
        with pytest.raises(ConfigError, match="cannot read config file"):
            load_config(main)
    finally:
        main.chmod(0o644)


def _can_read(path: Path) -> bool:
    try:
        path.read_bytes()
    except OSError:
        return False
    return True


def test_include_chain_depth_is_limited(tmp_path):
    for depth in range(30):
        write(tmp_path / f"f{depth}.conf", f"k{depth}: {depth}\ninclude f{depth + 1}.conf\n")
    write(tmp_path / "f30.conf", "end: true\n")
    with pytest.raises(ConfigError, match="includes nested deeper than"):
        load_config(tmp_path / "f0.conf")


def test_deeply_nested_blocks_across_an_include_chain_stay_config_errors(tmp_path):
    for depth in range(15):
        write(tmp_path / f"n{depth}.conf", "x: " + "{b: " * 60 + f"{{include n{depth + 1}.conf}}" + "}" * 60)
    write(tmp_path / "n15.conf", "end: 1\n")
    with pytest.raises(ConfigError, match="nested too deeply") as caught:
        load_config(tmp_path / "n0.conf")
    assert caught.value.filename == str(tmp_path / "n0.conf")
