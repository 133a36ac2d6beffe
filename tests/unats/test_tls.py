"""TLS: the client verifies the broker's certificate against a pinned CA (a throwaway one made with the
openssl CLI) and refuses a broker the CA did not sign, against edgenats and nats-server alike."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import nats
import pytest
from unats_helpers import EXTRAS_HEAP

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def make_certificates(directory):
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=unats CA")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (directory / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf")
    openssl("req", "-x509", *ec, "-keyout", "other.key", "-out", "other.pem", "-days", "1", "-subj", "/CN=other")


async def test_tls_connection_verified_against_ca(server_kind, server_factory, start_device, tmp_path):
    make_certificates(tmp_path)
    srv = server_factory(server_kind, config=(
        f'tls {{\n  cert_file: "{tmp_path / "server.pem"}"\n  key_file: "{tmp_path / "server.key"}"\n}}\n'))
    url = f"tls://127.0.0.1:{srv.port}"
    device = await start_device("tls_device.py", url, tmp_path / "ca.pem", heap=EXTRAS_HEAP)
    await device.expect("READY")
    peer = await nats.connect(url, tls=ssl.create_default_context(cafile=str(tmp_path / "ca.pem")))
    assert (await peer.request("secure.echo", b"hi", timeout=5)).data == b"tls:hi"
    assert "GOT hi" in await device.finish()
    await peer.close()
    impostor = await start_device("tls_device.py", url, tmp_path / "other.pem", heap=EXTRAS_HEAP)
    assert "certificate" in (await impostor.expect("REFUSED")).lower()
