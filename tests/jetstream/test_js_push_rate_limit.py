"""A push consumer's `rate_limit_bps` (bits a second), on both servers: deliveries go out at once up to
the burst (nats-server's is the max payload, 1 MiB by default), then at the configured rate; an
update of the limit takes effect on the running consumer; pull consumers refuse it (10086)."""

from __future__ import annotations

import json
import time

MESSAGE = 64 * 1024
COUNT = 32  # 2 MiB: 1 MiB of burst, then 1 MiB paced
RATE_BYTES = 1024 * 1024


async def create(nc, stream: str, config: dict) -> dict:
    reply = await nc.request(f"$JS.API.CONSUMER.CREATE.{stream}.{config['name']}", json.dumps(
        {"stream_name": stream, "config": config}).encode(), timeout=2)
    return json.loads(reply.data)


async def receive(sub, count: int) -> float:
    """Seconds until `count` messages arrived on `sub` (from the first)."""
    first = None
    for _ in range(count):
        await sub.next_msg(timeout=5)
        first = first or time.monotonic()
    return time.monotonic() - first


async def test_rate_limit_paces_deliveries_past_the_burst(nc):
    js = nc.jetstream()
    await js.add_stream(name="RL", subjects=["rl.>"])
    for index in range(COUNT):
        await js.publish(f"rl.{index}", bytes([index]) * MESSAGE)
    sub = await nc.subscribe("deliver.rl", pending_bytes_limit=64 * 1024 * 1024)
    created = await create(nc, "RL", {"name": "PACED", "deliver_subject": "deliver.rl", "ack_policy": "none",
                                      "rate_limit_bps": RATE_BYTES * 8})
    assert created["config"]["rate_limit_bps"] == RATE_BYTES * 8

    elapsed = await receive(sub, COUNT)
    # About 1 s for the MiB past the burst; an unpaced consumer takes a few ms.
    assert 0.6 < elapsed < 2.5, elapsed


async def test_a_rate_limit_update_applies_to_the_running_consumer(nc):
    js = nc.jetstream()
    await js.add_stream(name="RLU", subjects=["rlu.>"])
    for index in range(COUNT):
        await js.publish(f"rlu.{index}", bytes([index]) * MESSAGE)
    config = {"name": "U", "deliver_subject": "deliver.rlu", "ack_policy": "none",
              "rate_limit_bps": RATE_BYTES * 8}
    assert "error" not in await create(nc, "RLU", config)
    # Raised tenfold before anyone listens: the whole 2 MiB goes in well under the old second.
    updated = await create(nc, "RLU", {**config, "rate_limit_bps": RATE_BYTES * 80})
    assert updated["config"]["rate_limit_bps"] == RATE_BYTES * 80
    sub = await nc.subscribe("deliver.rlu", pending_bytes_limit=64 * 1024 * 1024)
    assert await receive(sub, COUNT) < 0.5


async def test_a_pull_consumer_refuses_a_rate_limit(nc):
    await nc.jetstream().add_stream(name="RLP", subjects=["rlp.>"])
    answer = await create(nc, "RLP", {"name": "P", "rate_limit_bps": 8000})
    assert answer["error"] == {"code": 400, "err_code": 10086,
                               "description": "consumer in pull mode can not have rate limit set"}
