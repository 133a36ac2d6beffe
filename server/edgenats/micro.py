"""The NATS micro services discovery protocol, as data: the `$SRV.<verb>[.<name>[.<id>]]` subjects,
reading INFO and STATS answers (`io.nats.micro.v1.*`), and joining the two answers of each service
instance into one record (its endpoints with their request counts, errors and processing times).
No I/O: the operator CLI gathers answers with nats-py, the monitor's /servicez inside the broker.
"""

from __future__ import annotations

import json

INFO_TYPE = "io.nats.micro.v1.info_response"
STATS_TYPE = "io.nats.micro.v1.stats_response"
VERBS = ("INFO", "STATS")


def control_subject(verb: str, name: str = "", instance_id: str = "") -> str:
    """`$SRV.INFO`, `$SRV.INFO.<name>` or `$SRV.INFO.<name>.<id>` (the same for STATS and PING)."""
    return ".".join(part for part in ("$SRV", verb, name, instance_id if name else "") if part)


def parse_answer(payload: bytes, expected_type: str) -> dict | None:
    """The answer as a dict when it is a JSON object of the expected type, else None (ignored)."""
    try:
        answer = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(answer, dict) or answer.get("type") != expected_type or "id" not in answer:
        return None
    return answer


def join_instances(infos: list[dict], stats: list[dict]) -> list[dict]:
    """One record per instance (by id), sorted by name then id: the INFO answer's identity and
    endpoints, each endpoint with its STATS counters (None while that instance's STATS is missing)."""
    stats_by_id = {answer["id"]: answer for answer in stats}
    instances = []
    for info in {answer["id"]: answer for answer in infos}.values():
        counters = {endpoint.get("name", ""): endpoint
                    for endpoint in (stats_by_id.get(info["id"]) or {}).get("endpoints") or []}
        endpoints = []
        for endpoint in info.get("endpoints") or []:
            counted = counters.get(endpoint.get("name", ""))
            endpoints.append({
                "name": endpoint.get("name", ""),
                "subject": endpoint.get("subject", ""),
                "queue_group": endpoint.get("queue_group", ""),
                "num_requests": counted.get("num_requests", 0) if counted else None,
                "num_errors": counted.get("num_errors", 0) if counted else None,
                "last_error": counted.get("last_error", "") if counted else "",
                "processing_time": counted.get("processing_time", 0) if counted else None,
                "average_processing_time": counted.get("average_processing_time", 0) if counted else None,
            })
        instances.append({
            "name": info.get("name", ""),
            "id": info["id"],
            "version": info.get("version", ""),
            "description": info.get("description", ""),
            "metadata": info.get("metadata") or {},
            "started": (stats_by_id.get(info["id"]) or {}).get("started", ""),
            "endpoints": endpoints,
        })
    return sorted(instances, key=lambda instance: (instance["name"], instance["id"]))
