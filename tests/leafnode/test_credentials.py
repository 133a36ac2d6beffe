"""Credentials and TLS on a soliciting link (spec §15.3, §13.3, §15.9): user/password, token, nkey
seed, a `.creds` file signed against the hub's nonce, and `tls://` remotes with CA, client
certificates and verification of the hub's name.

The hub is a real nats-server and the leaf edgenats, with nats-server as leaf proving each case;
the last tests turn it around: an edgenats hub with a TLS leaf port and a real nats-server leaf.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time

import nats
import nkeys
import pytest
import trustme
from leaf_helpers import hub_config, leaf_config, wait_for_interest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from servers import free_port

SEED = "SUAMV4MF2HOGRJW2EFGGQQVOPQUDICKF7TSWKCDTEIS5HUYUU5GP3GR52U"
PUBLIC = "UAULX644PYVUVVSJRJCKBJSKICUNTYVLBC6XM4CXWZUP6P2WTPP4SC4S"


@pytest.fixture(params=["edgenats", "nats-server"])
def leaf_kind(request) -> str:
    return request.param


async def link_works(hub_url: str, leaf_url: str, timeout: float = 15.0, **hub_options) -> None:
    hub_nc = await nats.connect(hub_url, **hub_options)
    leaf_nc = await nats.connect(leaf_url)
    try:
        await wait_for_interest(leaf_nc, hub_nc, timeout)
        await wait_for_interest(hub_nc, leaf_nc, timeout)
    finally:
        await hub_nc.close()
        await leaf_nc.close()


async def link_refused(hub_url: str, leaf_url: str, **hub_options) -> None:
    """The link must not come up: a leaf-side responder stays unreachable from the hub for 3 s."""
    with pytest.raises((NoRespondersError, NatsTimeout)):
        await link_works(hub_url, leaf_url, timeout=3.0, **hub_options)


def start_pair(server_factory, leaf_kind: str, hub_leaf_block: str, remote: str, hub_extra: str = ""):
    leaf_port = free_port()
    hub = server_factory("nats-server", config=hub_config("hub", leaf_port, hub_leaf_block, hub_extra))
    remote = remote.replace("PORT", str(leaf_port))
    leaf = server_factory(leaf_kind, config=leaf_config("leaf", remote))
    return hub, leaf


@pytest.mark.parametrize("password, works", [("lp", True), ("wrong", False)])
async def test_user_and_password_in_the_url(server_factory, leaf_kind, password, works):
    hub, leaf = start_pair(server_factory, leaf_kind, "authorization { user: lu, password: lp }",
                           f'url: "nats-leaf://lu:{password}@127.0.0.1:PORT"')
    await (link_works if works else link_refused)(hub.url, leaf.url)


@pytest.mark.parametrize("token, works", [("s3cr3t", True), ("guess", False)])
async def test_token_in_the_url(server_factory, leaf_kind, token, works):
    # nats-server takes leaf tokens from the server's authorization block, not the leafnodes one.
    hub, leaf = start_pair(server_factory, leaf_kind, "", f'url: "nats-leaf://{token}@127.0.0.1:PORT"',
                           'authorization { token: "s3cr3t" }')
    await (link_works if works else link_refused)(hub.url, leaf.url, token="s3cr3t")


OTHER_PUBLIC = nkeys.from_seed(nkeys.encode_seed(b"x" * 32, nkeys.PREFIX_BYTE_USER)).public_key.decode()


@pytest.mark.parametrize("trusted, works", [(PUBLIC, True), (OTHER_PUBLIC, False)],
                         ids=["trusted", "unknown-key"])
async def test_nkey_seed_signs_the_nonce(server_factory, leaf_kind, trusted, works):
    hub_extra = f"accounts {{ EDGE: {{ users: [ {{ nkey: {trusted} }}, {{ user: cloud, password: pw }} ] }} }}"
    hub, leaf = start_pair(server_factory, leaf_kind, "", f'url: "nats-leaf://127.0.0.1:PORT", nkey: "{SEED}"',
                           hub_extra)
    await (link_works if works else link_refused)(hub.url, leaf.url, user="cloud", password="pw")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_jwt(issuer, subject: str, name: str, nats_claims: dict) -> str:
    """A NATS JWT (ed25519-nkey), as nsc writes them: jti is the hash of the claims without it."""
    claims = {"iat": int(time.time()), "iss": issuer.public_key.decode(), "name": name, "sub": subject,
              "nats": {**nats_claims, "version": 2}}
    claims["jti"] = base64.b32encode(hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()).decode()
    header = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = issuer.sign(f"{header}.{body}".encode())
    return f"{header}.{body}.{_b64(signature)}"


def creds_text(jwt: str, seed: bytes) -> str:
    return (f"-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n"
            "************************* IMPORTANT *************************\n\n"
            f"-----BEGIN USER NKEY SEED-----\n{seed.decode()}\n------END USER NKEY SEED------\n")


@pytest.fixture
def operator_setup(tmp_path):
    """An operator, an account and two users (leaf and cloud client) as JWTs; a hub config trusting them."""
    operator = nkeys.from_seed(nkeys.encode_seed(b"o" * 32, nkeys.PREFIX_BYTE_OPERATOR))
    account = nkeys.from_seed(nkeys.encode_seed(b"a" * 32, nkeys.PREFIX_BYTE_ACCOUNT))
    system = nkeys.from_seed(nkeys.encode_seed(b"s" * 32, nkeys.PREFIX_BYTE_ACCOUNT))
    operator_jwt = encode_jwt(operator, operator.public_key.decode(), "op",
                              {"type": "operator", "system_account": system.public_key.decode()})
    limits = {"limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                         "wildcards": True, "conn": -1, "leaf": -1}}
    account_jwt = encode_jwt(operator, account.public_key.decode(), "edge", {"type": "account", **limits})
    system_jwt = encode_jwt(operator, system.public_key.decode(), "sys", {"type": "account", **limits})
    user_limits = {"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}
    paths = {}
    for name, byte in (("leaf", b"l"), ("cloud", b"c")):
        seed = nkeys.encode_seed(byte * 32, nkeys.PREFIX_BYTE_USER)
        user = nkeys.from_seed(seed)
        jwt = encode_jwt(account, user.public_key.decode(), name, {"type": "user", **user_limits})
        paths[name] = tmp_path / f"{name}.creds"
        paths[name].write_text(creds_text(jwt, seed))
    (tmp_path / "op.jwt").write_text(operator_jwt)
    hub_extra = (f'operator: "{tmp_path / "op.jwt"}"\nsystem_account: {system.public_key.decode()}\n'
                 f"resolver: MEMORY\nresolver_preload: {{\n  {account.public_key.decode()}: \"{account_jwt}\"\n"
                 f"  {system.public_key.decode()}: \"{system_jwt}\"\n}}\n")
    return hub_extra, paths


async def test_creds_file_signs_the_nonce(server_factory, leaf_kind, operator_setup):
    hub_extra, creds = operator_setup
    hub, leaf = start_pair(server_factory, leaf_kind, "",
                           f'url: "nats-leaf://127.0.0.1:PORT", credentials: "{creds["leaf"]}"', hub_extra)
    await link_works(hub.url, leaf.url, user_credentials=str(creds["cloud"]))


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA, a hub certificate for 127.0.0.1, one for another name, and a leaf client certificate."""
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    for name, identities in (("hub", ["127.0.0.1", "localhost"]), ("other", ["hub.elsewhere.example"]),
                             ("leaf", ["leaf.example"])):
        cert = ca.issue_cert(*identities)
        cert.cert_chain_pems[0].write_to_path(str(directory / f"{name}.pem"))
        cert.private_key_pem.write_to_path(str(directory / f"{name}-key.pem"))
    other_ca = trustme.CA()
    other_ca.cert_pem.write_to_path(str(directory / "other-ca.pem"))
    return directory


@pytest.mark.parametrize("hub_cert, ca, works", [
    ("hub", "ca", True),
    ("other", "ca", False),
    ("hub", "other-ca", False),
], ids=["verified", "wrong-name", "unknown-ca"])
async def test_tls_remote_verifies_the_hub(server_factory, leaf_kind, certificates, hub_cert, ca, works):
    hub_tls = f'tls {{ cert_file: "{certificates / hub_cert}.pem", key_file: "{certificates / hub_cert}-key.pem" }}'
    remote = f'url: "tls://127.0.0.1:PORT", tls {{ ca_file: "{certificates / ca}.pem" }}'
    hub, leaf = start_pair(server_factory, leaf_kind, hub_tls, remote)
    await (link_works if works else link_refused)(hub.url, leaf.url)


@pytest.mark.parametrize("with_client_cert", [True, False], ids=["client-cert", "no-client-cert"])
async def test_tls_hub_requiring_a_client_certificate(server_factory, leaf_kind, certificates, with_client_cert):
    hub_tls = (f'tls {{ cert_file: "{certificates}/hub.pem", key_file: "{certificates}/hub-key.pem", '
               f'ca_file: "{certificates}/ca.pem", verify: true }}')
    client_cert = (f', cert_file: "{certificates}/leaf.pem", key_file: "{certificates}/leaf-key.pem"'
                   if with_client_cert else "")
    remote = f'url: "tls://127.0.0.1:PORT", tls {{ ca_file: "{certificates}/ca.pem"{client_cert} }}'
    hub, leaf = start_pair(server_factory, leaf_kind, hub_tls, remote)
    await (link_works if with_client_cert else link_refused)(hub.url, leaf.url)


@pytest.mark.parametrize("hub_kind", ["edgenats", "nats-server"])
@pytest.mark.parametrize("leaf_cert, works", [("leaf", True), (None, False)], ids=["client-cert", "no-client-cert"])
async def test_tls_accepting_hub(server_factory, certificates, hub_kind, leaf_cert, works):
    leaf_port = free_port()
    hub_tls = (f'tls {{ cert_file: "{certificates}/hub.pem", key_file: "{certificates}/hub-key.pem", '
               f'ca_file: "{certificates}/ca.pem", verify: true }}')
    hub = server_factory(hub_kind, config=hub_config("hub", leaf_port, hub_tls))
    client_cert = (f', cert_file: "{certificates}/{leaf_cert}.pem", key_file: "{certificates}/{leaf_cert}-key.pem"'
                   if leaf_cert else "")
    remote = f'url: "tls://127.0.0.1:{leaf_port}", tls {{ ca_file: "{certificates}/ca.pem"{client_cert} }}'
    leaf = server_factory("nats-server", config=leaf_config("leaf", remote))
    await (link_works if works else link_refused)(hub.url, leaf.url)


@pytest.mark.parametrize("hub_kind", ["edgenats", "nats-server"])
async def test_tls_timeout_closes_a_leaf_that_never_starts_the_handshake(server_factory, certificates, hub_kind):
    """The leaf port's `tls { timeout }`: a peer that reads the INFO and never begins TLS is closed once
    it has passed (0.3 s here; the 2 s default would still hold the socket when the read gives up)."""
    leaf_port = free_port()
    hub_tls = f'tls {{ cert_file: "{certificates}/hub.pem", key_file: "{certificates}/hub-key.pem", timeout: 0.3 }}'
    server_factory(hub_kind, config=hub_config("hub", leaf_port, hub_tls))
    reader, writer = await asyncio.open_connection("127.0.0.1", leaf_port)
    try:
        info = await asyncio.wait_for(reader.readline(), 5)
        assert info.startswith(b"INFO ") and b'"tls_required":true' in info
        rest = await asyncio.wait_for(reader.read(), 1.5)
        assert rest == b"", rest
    finally:
        writer.close()
