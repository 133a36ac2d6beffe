"""The monitoring port with `http_user`/`http_password` (an edgenats extension; nats-server's monitoring has
no login): every page asks for HTTP Basic credentials except /healthz, a bcrypt hash works as for client
passwords, and the dashboard says that a login is required."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from devtools_browser import rounds_done
from servers import free_port, wait_for_port

PASSWORD_HASH = "$2b$04$r5C1yvKBfnM.ECoQNJj8n.ksQ99vwa.5pU/7hsmtiUTHXxaKnsdQG"  # bcrypt of "watch-it"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _get(port: int, path: str, authorization: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def guarded(server_factory):
    http_port = free_port()
    running = server_factory("edgenats", config=f'http_user: ops\nhttp_password: "{PASSWORD_HASH}"\n',
                             extra_args=["-m", str(http_port)])
    wait_for_port(http_port, running.process, running.log_path)
    return http_port


@pytest.mark.parametrize("authorization", [None, _basic("ops", "wrong"), _basic("intruder", "watch-it"),
                                           "Bearer watch-it", "Basic not-base64!"])
def test_without_the_right_credentials_every_page_is_refused(guarded, authorization):
    for path in ("/varz", "/connz", "/dashboard/", "/metrics"):
        status, headers, _ = _get(guarded, path, authorization)
        assert status == 401, path
        assert headers["WWW-Authenticate"] == 'Basic realm="edgenats monitoring", charset="UTF-8"'


def test_the_right_credentials_read_the_pages_and_healthz_stays_open(guarded):
    status, _, body = _get(guarded, "/varz", _basic("ops", "watch-it"))
    assert status == 200 and json.loads(body)["http_auth_required"] is True
    assert _get(guarded, "/healthz")[0] == 200


def test_a_user_without_a_password_is_refused_at_start(tmp_path):
    config = tmp_path / "monitor.conf"
    config.write_text("http_user: ops\n")
    done = subprocess.run([sys.executable, "-m", "edgenats", "-c", str(config), "-t"], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().endswith("http_user and http_password go together")


async def test_the_dashboard_says_a_login_is_required(guarded, browser):
    await browser.call("Network.enable")
    await browser.call("Network.setExtraHTTPHeaders", headers={"Authorization": _basic("ops", "watch-it")})
    await browser.open(f"http://127.0.0.1:{guarded}/dashboard/?refresh=0.3")
    await browser.evaluate(rounds_done(1))

    access = await browser.evaluate('document.getElementById("access").textContent')

    assert access == (f"Monitoring port: user and password required (http_user); bound to 127.0.0.1:{guarded}, "
                      "this machine only.")
