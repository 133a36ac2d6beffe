"""An account JWT's claims made into account settings as nats-server reads them: omitted limits are 0,
stream import `local_subject` and the deprecated `to` prefix, service `local_subject`, response types
and thresholds (nanoseconds), `token_req` exports open to nobody, JetStream on only with storage (the
R1 tier of tiered limits), and the claims refused whole (operator limits on the claims, what edgenats
does not carry out)."""

from __future__ import annotations

import pytest
from edgenats.account_claims import AccountClaimsError, account_from_claims
from edgenats.account_config import AccountLimits, Export, Import
from edgenats.jetstream.limits import JetStreamLimits

EXPORTER = "ACZ3XOM3ES7EWZLG6ELLE5QUPSKUATKQZT7BGAP45QZMVXF6NOIHYNKH"
IMPORTER = "ADWL7E7MRU3JMXTZGFZ7JMQ3LPY5NWTY3YBHF5TVDQAE3XCSL4WXYXSK"
UNLIMITED = {"subs": -1, "payload": -1, "conn": -1, "imports": -1, "exports": -1, "wildcards": True}


def _claims(key: str = IMPORTER, **nats) -> dict:
    return {"sub": key, "iss": "O...", "nats": {"type": "account", "version": 2, **nats}}


def test_omitted_limits_are_zero_and_minus_one_is_none():
    assert account_from_claims(_claims()).limits == AccountLimits(0, 0, 0)
    limits = {**UNLIMITED, "conn": 3}
    assert account_from_claims(_claims(limits=limits)).limits == AccountLimits(3, -1, -1)


def test_imports_and_exports():
    settings = account_from_claims(_claims(limits=UNLIMITED, imports=[
        {"type": "stream", "account": EXPORTER, "subject": "feed.>", "local_subject": "a.>"},
        {"type": "stream", "account": EXPORTER, "subject": "news", "to": "pre"},
        {"type": "service", "account": EXPORTER, "subject": "svc.q", "local_subject": "q"},
        {"type": "service", "account": EXPORTER, "subject": "svc.r"},
    ], exports=[
        {"type": "stream", "subject": "public.>"},
        {"type": "stream", "subject": "private.>", "token_req": True},
        {"type": "service", "subject": "svc.>", "response_type": "Stream", "response_threshold": 5_000_000_000},
    ]))
    assert settings.imports == (Import("stream", EXPORTER, "feed.>", "a.>"),
                                Import("stream", EXPORTER, "news", "pre.news"),
                                Import("service", EXPORTER, "svc.q", "q"),
                                Import("service", EXPORTER, "svc.r", "svc.r"))
    assert settings.exports == (Export("stream", "public.>"), Export("stream", "private.>", ()),
                                Export("service", "svc.>", None, "stream", 5.0))
    assert not settings.exports[1].open_to(IMPORTER, "private.x")


def test_jetstream_needs_storage_and_tiers_use_r1():
    assert account_from_claims(_claims(limits={**UNLIMITED, "streams": 5})).jetstream is None
    limits = {**UNLIMITED, "mem_storage": 1024, "disk_storage": -1, "streams": 2, "consumer": -1}
    assert account_from_claims(_claims(limits=limits)).jetstream == JetStreamLimits(
        max_memory=1024, max_storage=-1, max_streams=2, max_consumers=-1)
    tiered = {**UNLIMITED, "tiered_limits": {"R1": {"disk_storage": 4096, "streams": 1, "consumer": 3,
                                                    "max_ack_pending": 10}}}
    assert account_from_claims(_claims(limits=tiered)).jetstream == JetStreamLimits(
        max_memory=0, max_storage=4096, max_streams=1, max_consumers=3, max_ack_pending=10)
    only_r3 = {**UNLIMITED, "tiered_limits": {"R3": {"disk_storage": 4096}}}
    assert account_from_claims(_claims(limits=only_r3)).jetstream is None


@pytest.mark.parametrize("nats, reason", [
    ({"limits": {**UNLIMITED, "exports": 0}, "exports": [{"type": "stream", "subject": "a"}]},
     "more exports than allowed"),
    ({"limits": {**UNLIMITED, "imports": 0},
      "imports": [{"type": "stream", "account": EXPORTER, "subject": "a"}]}, "more imports than allowed"),
    ({"limits": {**UNLIMITED, "wildcards": False}, "exports": [{"type": "stream", "subject": "a.*"}]},
     "wildcard exports"),
    ({"limits": UNLIMITED, "mappings": {"a": [{"subject": "b"}]}}, "subject mappings"),
    ({"limits": UNLIMITED, "exports": [{"type": "stream", "subject": "a.*", "account_token_position": 2}]},
     "account token position"),
    ({"limits": UNLIMITED, "imports": [{"type": "stream", "account": "nobody", "subject": "a"}]},
     "not an account public key"),
], ids=["exports", "imports", "wildcards", "mappings", "token-position", "account"])
def test_claims_edgenats_cannot_apply_are_refused_whole(nats, reason):
    with pytest.raises(AccountClaimsError, match=reason):
        account_from_claims(_claims(**nats))
