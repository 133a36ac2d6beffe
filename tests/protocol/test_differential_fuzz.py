"""Differential fuzzing of the client port: the same generated inputs (random bytes and mutated valid
streams, from a fixed seed) sent to edgenats and to nats-server, whose answers must agree in kind.

One server of each kind serves the whole module; every input gets a fresh connection. The short run
is part of the default suite; the long one is behind the `fuzz` marker (`pytest -m fuzz`).
"""

from __future__ import annotations

import pytest
from differential import compare, generated_inputs
from servers import SERVER_KINDS, start_server

SEED = 20240610


@pytest.fixture(scope="module")
def ports(tmp_path_factory):
    started = [start_server(kind, tmp_path_factory.mktemp(kind)) for kind in SERVER_KINDS]
    yield {running.kind: running.port for running in started}
    for running in started:
        running.stop()


def _report(differences: list) -> str:
    lines = [f"{len(differences)} inputs answered differently; the first ones:"]
    for data, answers in differences[:10]:
        lines.append(f"  input {data!r}")
        lines.extend(f"    {kind}: {answer}" for kind, answer in answers.items())
    return "\n".join(lines)


async def test_short_differential_run_agrees_with_nats_server(ports):
    differences = await compare(ports, generated_inputs(SEED, 400))
    assert not differences, _report(differences)


@pytest.mark.fuzz
async def test_long_differential_run_agrees_with_nats_server(ports):
    differences = await compare(ports, generated_inputs(SEED, 100_000))
    assert not differences, _report(differences)
