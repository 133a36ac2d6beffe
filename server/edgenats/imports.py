"""Stream and service imports between accounts, running on internal subscribers.

A stream import subscribes in the exporting account and republishes each message in the importing
account under its mapped subject. A service import subscribes in the importing account and publishes
each request in the exporting account, with a `Nats-Request-Info` header naming the requesting
account and a reply subject `_R_.<import>.<request>` whose answers the import carries back to the
requester's reply subject: the first answer only for a singleton service, every answer until the
export's response threshold for a stream or chunked one. A request nobody receives counts as
undelivered, so the requester gets its no-responders status.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from edgenats.account_config import SERVICE, SINGLETON, AccountSettings, Export, Import

if TYPE_CHECKING:
    from edgenats.account import Account

_REQUEST_INFO = "Nats-Request-Info"


def with_request_info(headers: bytes | None, account: str) -> bytes:
    """The request's header block with `Nats-Request-Info` added (a new block if it had none)."""
    line = b"%s: %s\r\n" % (_REQUEST_INFO.encode(), json.dumps({"acc": account}, separators=(",", ":")).encode())
    if headers is None:
        return b"NATS/1.0\r\n" + line + b"\r\n"
    return headers[:-2] + line + b"\r\n"


class StreamImport:
    """Messages on the import's subject in the exporter, republished in the importer."""

    def __init__(self, exporter: Account, importer: Account, imported: Import) -> None:
        self._importer = importer
        self._apply = imported.mapping().apply
        self._exporter = exporter
        self._subscription = exporter.subscribe_internal(imported.subject, self._forward)

    def _forward(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> int:
        return self._importer.publish_internal(self._apply(subject), payload, reply, headers)

    def stop(self) -> None:
        self._exporter.unsubscribe_internal(self._subscription)


class ServiceImport:
    """Requests on the import's local subject, sent to the exporter; answers carried back."""

    def __init__(self, exporter: Account, importer: Account, imported: Import, export: Export,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._exporter = exporter
        self._importer = importer
        self._apply = imported.mapping().apply
        self._singleton = export.response_type == SINGLETON
        self._threshold = export.response_threshold
        self._loop = loop
        self._prefix = f"_R_.{os.urandom(4).hex()}."
        # Reply-subject suffix -> (the requester's reply subject, the timer that forgets it).
        self._pending: dict[str, tuple[str, asyncio.TimerHandle]] = {}
        self._requests = importer.subscribe_internal(imported.local, self._request)
        self._responses = exporter.subscribe_internal(self._prefix + "*", self._response)

    def _request(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> int:
        headers = with_request_info(headers, self._importer.name)
        if reply is None:
            return self._exporter.publish_internal(self._apply(subject), payload, None, headers)
        suffix = os.urandom(6).hex()
        self._pending[suffix] = (reply, self._loop.call_later(self._threshold, self._forget, suffix))
        delivered = self._exporter.publish_internal(self._apply(subject), payload, self._prefix + suffix, headers)
        if not delivered:
            self._forget(suffix)
        return delivered

    def _response(self, subject: str, reply: str | None, headers: bytes | None, payload: bytes) -> int:
        suffix = subject[len(self._prefix):]
        pending = self._pending.get(suffix)
        if pending is None:
            return 0
        if self._singleton:
            self._forget(suffix)
        return self._importer.publish_internal(pending[0], payload, reply, headers)

    def _forget(self, suffix: str) -> None:
        pending = self._pending.pop(suffix, None)
        if pending is not None:
            pending[1].cancel()

    def stop(self) -> None:
        for _, timer in self._pending.values():
            timer.cancel()
        self._pending.clear()
        self._importer.unsubscribe_internal(self._requests)
        self._exporter.unsubscribe_internal(self._responses)


class Imports:
    """Every account's running imports; `apply` replaces them all (at start and on each reload)."""

    def __init__(self, account: Callable[[str], Account], loop: asyncio.AbstractEventLoop) -> None:
        """`account(name)` returns the named account, creating it if no connection made it yet."""
        self._account = account
        self._loop = loop
        self._running: list[StreamImport | ServiceImport] = []

    def apply(self, accounts: dict[str, AccountSettings]) -> None:
        self.stop()
        for settings in accounts.values():
            importer = self._account(settings.name)
            for imported in settings.imports:
                exporter = self._account(imported.account)
                if imported.kind == SERVICE:
                    export = _export_for(accounts[imported.account], settings.name, imported)
                    self._running.append(ServiceImport(exporter, importer, imported, export, self._loop))
                else:
                    self._running.append(StreamImport(exporter, importer, imported))

    def stop(self) -> None:
        for running in self._running:
            running.stop()
        self._running.clear()


def _export_for(exporter: AccountSettings, importer: str, imported: Import) -> Export:
    """The export that allows the import (config loading made sure there is one)."""
    return next(export for export in exporter.exports
                if export.kind == imported.kind and export.open_to(importer, imported.subject))
