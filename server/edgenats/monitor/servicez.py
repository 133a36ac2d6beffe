"""/servicez (an edgenats extension; nats-server has no such endpoint): the NATS micro services the
site's clients run, found as `edgenats micro` finds them. The broker asks `$SRV.INFO` and `$SRV.STATS`
in every account but the system account through internal subscribers, gathers the answers for a
short window and lists each instance with its endpoints, request counts, errors and processing times.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING

from edgenats.micro import INFO_TYPE, STATS_TYPE, VERBS, control_subject, join_instances, parse_answer
from edgenats.monitor.formats import rfc3339

if TYPE_CHECKING:
    from edgenats.surface import ServerSurface

# Answers from devices on Wi-Fi arrive within a few round trips; the page refreshes every few seconds.
GATHER_WINDOW_S = 0.4


async def build_servicez(server: ServerSurface, window: float = GATHER_WINDOW_S) -> dict:
    answers: dict[str, dict[str, list[dict]]] = {}
    subscriptions = []
    for account in server.accounts.values():
        if account is server.system_account:
            continue
        inbox = f"_INBOX.{secrets.token_hex(8)}"
        collected: dict[str, list[dict]] = {verb: [] for verb in VERBS}
        answers[account.name] = collected

        def collect(subject: str, reply: str | None, headers: bytes | None, payload: bytes,
                    collected: dict[str, list[dict]] = collected) -> None:
            verb = subject.rsplit(".", 1)[-1]
            answer = parse_answer(payload, INFO_TYPE if verb == "INFO" else STATS_TYPE)
            if answer is not None and verb in collected:
                collected[verb].append(answer)

        subscriptions.append((account, account.subscribe_internal(f"{inbox}.*", collect)))
        for verb in VERBS:
            account.publish_internal(control_subject(verb), reply=f"{inbox}.{verb}")
    try:
        await asyncio.sleep(window)
    finally:
        for account, subscription in subscriptions:
            account.unsubscribe_internal(subscription)
    services = []
    for account_name in sorted(answers):
        for instance in join_instances(answers[account_name]["INFO"], answers[account_name]["STATS"]):
            services.append({"account": account_name, **instance})
    return {"server_id": server.server_id, "now": rfc3339(), "gather_window": window, "services": services}
