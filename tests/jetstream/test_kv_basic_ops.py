"""Key-Value buckets through the real nats-py client against both servers: bucket creation (history,
ttl, direct reads on and off, limit markers), put/get/create/update with revisions and the errors
nats-py raises, delete/purge, status, reads by revision, and keys expiring by bucket and key TTL.
(watch/keys/history/purge_deletes need push consumers and are tested with them.)"""

from __future__ import annotations

import nats.js.errors
import pytest
from js_helpers import poll_until


@pytest.fixture
async def js(nc):
    return nc.jetstream()


@pytest.mark.parametrize("direct", [False, True])
async def test_kv_put_get_create_update_delete_purge(js, direct):
    kv = await js.create_key_value(bucket="CFG", history=5, description="edge config", direct=direct)
    info = await js.stream_info("KV_CFG")
    assert (info.config.allow_direct, info.config.allow_msg_ttl, info.config.max_msgs_per_subject) == (direct, True, 5)
    assert await kv.put("a.b", b"one") == 1
    assert await kv.put("a.b", b"two") == 2
    entry = await kv.get("a.b")
    assert (entry.key, entry.value, entry.revision) == ("a.b", b"two", 2)
    assert (await kv.get("a.b", revision=1)).value == b"one"
    with pytest.raises(nats.js.errors.KeyNotFoundError):
        await kv.get("other", revision=1)  # revision 1 is another key's
    with pytest.raises(nats.js.errors.KeyNotFoundError):
        await kv.get("missing")
    assert await kv.create("c", b"new") == 3
    with pytest.raises(nats.js.errors.KeyWrongLastSequenceError) as wrong:
        await kv.create("c", b"again")
    assert wrong.value.description == "wrong last sequence: 3"
    assert await kv.update("c", b"updated", last=3) == 4
    with pytest.raises(nats.js.errors.KeyWrongLastSequenceError):
        await kv.update("c", b"stale", last=3)
    assert await kv.delete("c") is True
    with pytest.raises(nats.js.errors.KeyNotFoundError):
        await kv.get("c")
    assert await kv.create("c", b"back") == 6  # create over a delete marker
    assert await kv.purge("a.b") is True
    with pytest.raises(nats.js.errors.KeyNotFoundError):
        await kv.get("a.b")
    status = await kv.status()
    # a.b: its purge marker (the rollup took revisions 1-2); c: revisions 3-6
    assert (status.bucket, status.values, status.history, status.ttl) == ("CFG", 5, 5, 0)


async def test_kv_history_trims_the_oldest_revision(js):
    kv = await js.create_key_value(bucket="HIST", history=2)
    for value in (b"1", b"2", b"3"):
        await kv.put("k", value)
    with pytest.raises(nats.js.errors.KeyNotFoundError):
        await kv.get("k", revision=1)
    assert (await kv.get("k", revision=2)).value == b"2"
    assert (await kv.status()).values == 2


async def test_kv_bucket_ttl_expires_keys(js):
    kv = await js.create_key_value(bucket="TTLKV", ttl=1)
    assert (await kv.status()).ttl == 1.0
    await kv.put("temp", b"v")
    assert (await kv.get("temp")).value == b"v"

    async def gone():
        try:
            await kv.get("temp")
        except nats.js.errors.KeyNotFoundError:
            return True
        return False
    assert await poll_until(gone, timeout=3)
    assert await kv.create("temp", b"again") == 2  # nothing stored on the key any more


async def test_kv_key_ttl_and_limit_markers(js):
    kv = await js.create_key_value(bucket="MARK", limit_marker_ttl=1)
    info = await js.stream_info("KV_MARK")
    assert info.config.subject_delete_marker_ttl == 1.0
    assert await kv.create("session", b"v", msg_ttl=1) == 1
    stored = await js.get_msg("KV_MARK", seq=1)
    assert stored.headers["Nats-TTL"] == "1"

    async def marked():
        state = (await js.stream_info("KV_MARK")).state
        return (state.messages, state.last_seq) == (1, 2)
    assert await poll_until(marked, timeout=3)
    marker = await js.get_msg("KV_MARK", subject="$KV.MARK.session")
    assert (marker.seq, marker.data or b"", dict(marker.headers)) == (2, b"", {
        "Nats-Marker-Reason": "MaxAge", "Nats-TTL": "1s", "Nats-Rollup": "sub"})
    # nats-py 2.16 reads a marker as a live (empty) value: create refuses, update over it works
    with pytest.raises(nats.js.errors.KeyWrongLastSequenceError):
        await kv.create("session", b"again")
    assert await kv.update("session", b"again", last=2) == 3


async def test_kv_missing_bucket(js):
    with pytest.raises(nats.js.errors.BucketNotFoundError):
        await js.key_value("NOPE")
    await js.create_key_value(bucket="THERE")
    assert (await js.key_value("THERE"))._stream == "KV_THERE"
    assert await js.delete_key_value("THERE") is True
    with pytest.raises(nats.js.errors.BucketNotFoundError):
        await js.key_value("THERE")


async def test_kv_bucket_limit_markers_need_api_level(js):
    """nats-py asks $JS.API.INFO for level >= 1 before sending subject_delete_marker_ttl."""
    info = await js.account_info()
    assert info.api.level >= 1
    kv = await js.create_key_value(bucket="LVL", ttl=2, limit_marker_ttl=1)
    assert (await kv.status()).ttl == 2.0


async def test_kv_direct_reads_use_direct_get(nc, js):
    kv = await js.create_key_value(bucket="DKV", direct=True, history=2)
    await kv.put("k1", b"v1")
    await kv.put("k1", b"v2")
    raw = await nc.request("$JS.API.DIRECT.GET.KV_DKV.$KV.DKV.k1", b"", timeout=2)
    assert (raw.data, raw.headers["Nats-Sequence"], raw.headers["Nats-Subject"]) == (b"v2", "2", "$KV.DKV.k1")
    assert (await kv.get("k1")).value == b"v2"
    assert (await kv.get("k1", revision=1)).value == b"v1"
