"""Object Store calls that need no push consumer, through the real nats-py client against both
servers: bucket creation (a stream with allow_direct), a chunked put of a few hundred KiB, get_info,
replacing an object, delete, status and seal. (get/list/watch read with push consumers and are tested
with them.)"""

from __future__ import annotations

import base64
import hashlib

import nats.js.errors
import pytest
from js_helpers import api

PAYLOAD = bytes(range(256)) * 1200  # 307200 bytes: 3 chunks of at most 128 KiB


@pytest.fixture
async def js(nc):
    return nc.jetstream()


async def test_obj_put_chunks_and_get_info(nc, js):
    obs = await js.create_object_store("FILES", description="edge files")
    info = await js.stream_info("OBJ_FILES")
    assert (info.config.allow_direct, info.config.allow_rollup_hdrs, info.config.subjects) == (
        True, True, ["$O.FILES.C.>", "$O.FILES.M.>"])
    put = await obs.put("big.bin", PAYLOAD)
    digest = "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(PAYLOAD).digest()).decode()
    assert (put.name, put.size, put.chunks, put.digest) == ("big.bin", len(PAYLOAD), 3, digest)
    got = await obs.get_info("big.bin")
    assert (got.nuid, got.size, got.chunks, got.digest, got.deleted) == (put.nuid, len(PAYLOAD), 3, digest, False)
    chunks = await api(nc, "$JS.API.STREAM.INFO.OBJ_FILES", {"subjects_filter": f"$O.FILES.C.{put.nuid}"})
    assert chunks["state"]["subjects"] == {f"$O.FILES.C.{put.nuid}": 3}
    status = await obs.status()
    assert (status.bucket, status.description, status.sealed) == ("FILES", "edge files", False)
    assert status.size > len(PAYLOAD)
    with pytest.raises(nats.js.errors.ObjectNotFoundError):
        await obs.get_info("missing")


async def test_obj_replace_purges_the_old_chunks(js):
    obs = await js.create_object_store("REPL")
    first = await obs.put("doc", b"x" * 200_000)
    second = await obs.put("doc", b"y" * 1000)
    assert (await obs.get_info("doc")).nuid == second.nuid != first.nuid
    state = (await js.stream_info("OBJ_REPL")).state
    assert state.messages == 2  # one chunk and the meta message


async def test_obj_delete_and_seal(js):
    obs = await js.create_object_store("SEAL")
    await obs.put("a.txt", b"hello")
    await obs.put("b.txt", b"world")
    await obs.delete("a.txt")
    with pytest.raises(nats.js.errors.ObjectNotFoundError):
        await obs.get_info("a.txt")
    deleted = await obs.get_info("a.txt", show_deleted=True)
    assert (deleted.deleted, deleted.size, deleted.chunks) == (True, 0, 0)
    await obs.seal()
    status = await obs.status()
    assert status.sealed is True
    with pytest.raises(nats.js.errors.BadRequestError) as refused:
        await obs.put("c.txt", b"late")
    assert refused.value.err_code == 10109
    assert (await obs.get_info("b.txt")).size == 5
