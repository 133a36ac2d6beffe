"""SystemAccount: the server's voice in its system account. It numbers what it sends (the `seq` of
the server block), answers requests through its Responders, announces connections
(`$SYS.ACCOUNT.<acc>.CONNECT` / `.DISCONNECT`, leaf links included, as kind Leafnode) and publishes
`$SYS.SERVER.<id>.STATSZ`: 250ms after start, then at doubling intervals up to every 10s, as
nats-server does. Like a standalone nats-server, it builds an event only when someone listens.

nats-server sends `$SYS.ACCOUNT.<acc>.LEAFNODE.CONNECT` only to gateways; edgenats has none, so it
does not send it either.
"""

from __future__ import annotations

import base64
import itertools
import os
import time
from typing import TYPE_CHECKING

from edgenats.monitor.formats import go_json
from edgenats.monitor.varz import ProcessUsage
from edgenats.system.messages import build_statsz, client_block, event_envelope, server_block
from edgenats.system.responders import Responders

if TYPE_CHECKING:
    import asyncio

    from edgenats.surface import ServerSurface

CONNECT_EVENT = "io.nats.server.advisory.v1.client_connect"
DISCONNECT_EVENT = "io.nats.server.advisory.v1.client_disconnect"
FIRST_STATSZ_INTERVAL = 0.25
STATSZ_INTERVAL = 10.0


class SystemAccount:
    def __init__(self, server: ServerSurface) -> None:
        self.server = server
        self.account = server.system_account
        self.usage = ProcessUsage()
        self.statsz_subject = f"$SYS.SERVER.{server.server_id}.STATSZ"
        self._seq = 0
        # Event ids: a random prefix and a counter, unique like nats-server's NUIDs.
        self._id_prefix = base64.b32encode(os.urandom(10)).decode()
        self._event_numbers = itertools.count(1)
        self._statsz_interval = FIRST_STATSZ_INTERVAL
        self._statsz_timer: asyncio.TimerHandle | None = None
        self._subscriptions: list = []

    def start(self) -> None:
        self._subscriptions = Responders(self).subscribe()
        if self.server.account_resolver is not None:
            # Operator mode only: the claims requests and the JWT code they need are not loaded otherwise.
            from edgenats.system.claims import claims_responders

            claims = claims_responders(self)
            if claims is not None:
                self._subscriptions += claims.subscribe()
        self._statsz_timer = self.server.loop.call_later(self._statsz_interval, self._statsz_heartbeat)

    def stop(self) -> None:
        if self._statsz_timer is not None:
            self._statsz_timer.cancel()
            self._statsz_timer = None
        for subscription in self._subscriptions:
            self.account.unsubscribe_internal(subscription)
        self._subscriptions = []

    # sending -----------------------------------------------------------------------------------

    def server_block(self) -> dict:
        self._seq += 1
        return server_block(self.server, self._seq)

    def publish(self, subject: str, document: dict) -> None:
        self.account.publish_internal(subject, go_json(document, pretty=False))

    def listened(self, subject: str) -> bool:
        """Whether anyone receives `subject`: events nobody hears are not built (a cached lookup)."""
        return self.account.has_interest(subject)

    def http_req_stats(self) -> dict[str, int]:
        monitor = self.server.monitor
        return monitor.http_req_stats if monitor is not None else {}

    def _event_id(self) -> str:
        return f"{self._id_prefix}{next(self._event_numbers)}"

    # events ------------------------------------------------------------------------------------

    def client_connected(self, connection) -> None:
        """A client finished CONNECT, or a leaf link came up."""
        subject = f"$SYS.ACCOUNT.{connection.account.name}.CONNECT"
        if not self.listened(subject):
            return
        document = event_envelope(CONNECT_EVENT, self._event_id(), self.server_block())
        document["client"] = client_block(connection)
        self.publish(subject, document)

    def client_disconnected(self, connection) -> None:
        """A connection announced by client_connected closed."""
        subject = f"$SYS.ACCOUNT.{connection.account.name}.DISCONNECT"
        if not self.listened(subject):
            return
        stop = time.time()
        document = event_envelope(DISCONNECT_EVENT, self._event_id(), self.server_block(), stop)
        document["client"] = client_block(connection, stop)
        # From the client's point of view: what it sent is what the server received from it.
        document["sent"] = {"msgs": connection.in_msgs, "bytes": connection.in_bytes}
        document["received"] = {"msgs": connection.out_msgs, "bytes": connection.out_bytes}
        document["reason"] = connection.close_reason
        self.publish(subject, document)

    def _statsz_heartbeat(self) -> None:
        self._statsz_interval = min(self._statsz_interval * 2, STATSZ_INTERVAL)
        self._statsz_timer = self.server.loop.call_later(self._statsz_interval, self._statsz_heartbeat)
        if not self.listened(self.statsz_subject):
            return
        self.server.settle_counters()
        self.publish(self.statsz_subject, {"server": self.server_block(),
                                           "statsz": build_statsz(self.server, self.usage)})
