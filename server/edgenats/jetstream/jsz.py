"""The JSZ document (`/jsz` on the monitor port, `$SYS.REQ.SERVER.PING.JSZ` in the system account),
one account's JSZ detail (`$SYS.REQ.ACCOUNT.<name>.JSZ`) and the `jetstream` object of /varz, of a
running JetStream, with nats-server's keys and types: the server's usage, reservations, API counters
and configuration, totals of streams, consumers, messages and bytes, and on request the details of
each account (its streams, their consumers and configs), paged by account name.

As nats-server reports them, an account's `reserved_memory`/`reserved_storage` are its limits as
unsigned 64-bit numbers (-1, no limit, is 18446744073709551615)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from edgenats.jetstream import consumer_config
from edgenats.jetstream.api import API_LEVEL, JetStreamApi, timestamp
from edgenats.jetstream.limits import reserved
from edgenats.monitor.formats import rfc3339

if TYPE_CHECKING:
    from edgenats.jetstream.service import JetStream
    from edgenats.jetstream.stream import Stream

DEFAULT_LIMIT = 1024
_UINT64 = (1 << 64) - 1


@dataclass(frozen=True)
class JszOptions:
    """nats-server's JSzOptions: `account` picks one account's details; `accounts` lists them all
    (paged); `streams`, `consumers` and `config` add streams, their consumers and configs."""

    account: str = ""
    accounts: bool = False
    streams: bool = False
    consumers: bool = False
    config: bool = False
    offset: int = 0
    limit: int = 0


def _stored_config(config: dict) -> dict:
    """A config as JSZ shows it: with the metadata kept, not the versions INFO adds."""
    return {**config, "metadata": {"_nats.req.level": "0", **config.get("metadata", {})}}


def _stream_detail(api: JetStreamApi, stream: Stream, leader: str, options: JszOptions) -> dict:
    detail: dict = {"name": stream.name, "created": timestamp(stream.created_ns), "cluster": {"leader": leader}}
    if options.config:
        detail["config"] = _stored_config(stream.config)
    detail["state"] = api.state_document(stream)
    if options.consumers and stream.consumers:
        consumers = []
        for name in sorted(stream.consumers):
            document = api.consumer_document(stream.consumers[name])
            if options.config:
                document["config"] = _stored_config(stream.consumers[name].config)
            else:
                del document["config"]
            consumers.append(document)
        detail["consumer_detail"] = consumers
    return detail


def account_detail(jetstream: JetStream, name: str, options: JszOptions) -> dict:
    """One account's usage, limits and API counters; its streams with `streams`, and their consumers
    with `consumers` too (this alone does not add `streams`, as in nats-server's account JSZ)."""
    streams, api = jetstream.accounts[name]
    limits = streams.limits
    detail: dict = {"name": name, "id": name, "memory": streams.usage["memory"].bytes,
                    "storage": streams.usage["file"].bytes, "reserved_memory": limits.max_memory & _UINT64,
                    "reserved_storage": limits.max_storage & _UINT64, "accounts": 0, "ha_assets": 0,
                    "api": {"level": 0, "total": api.total, "errors": api.errors}}
    if options.streams and streams.streams:
        detail["stream_detail"] = [_stream_detail(api, streams.streams[stream_name], jetstream.server_name, options)
                                   for stream_name in sorted(streams.streams)]
    return detail


def _config(jetstream: JetStream) -> dict:
    config: dict = {"max_memory": jetstream.accounting.max_memory, "max_storage": jetstream.accounting.max_storage,
                    "store_dir": str(jetstream.root)}
    if jetstream.sync.always:
        config["sync_always"] = True
    else:
        config["sync_interval"] = round(jetstream.sync.interval_s * 1e9)
    if jetstream.settings.domain:
        config["domain"] = jetstream.settings.domain
    config["strict"] = True  # unknown fields in API requests are refused (10025)
    return config


def _stats(jetstream: JetStream, everything: list[Stream]) -> dict:
    """nats-server's JetStreamStats: usage, reservations, accounts, API counters."""
    apis = [api for _, api in jetstream.accounts.values()]
    return {
        "memory": jetstream.accounting.usage["memory"].bytes, "storage": jetstream.accounting.usage["file"].bytes,
        "reserved_memory": reserved(everything, "memory"), "reserved_storage": reserved(everything, "file"),
        "accounts": len(jetstream.accounts), "ha_assets": 0,
        "api": {"level": API_LEVEL, "total": sum(api.total for api in apis),
                "errors": sum(api.errors for api in apis)},
    }


LIMITS = {"default_max_consumers": consumer_config.DEFAULT_MAX_CONSUMERS}


def _streams(jetstream: JetStream) -> list[Stream]:
    return [stream for streams, _ in jetstream.accounts.values() for stream in streams.live]


def build_varz_jetstream(jetstream: JetStream) -> dict:
    """The `jetstream` object of /varz."""
    return {"config": _config(jetstream), "stats": _stats(jetstream, _streams(jetstream)), "limits": LIMITS}


def build_jsz(jetstream: JetStream, server_id: str, options: JszOptions) -> dict:
    if options.consumers:
        options = replace(options, streams=True)
    if options.streams and not options.account:
        options = replace(options, accounts=True)
    everything = _streams(jetstream)
    states = [stream.store.state() for stream in everything]
    document: dict = {
        **_stats(jetstream, everything), "server_id": server_id, "now": rfc3339(), "config": _config(jetstream),
        "limits": LIMITS, "streams": len(everything), "consumers": sum(len(stream.consumers) for stream in everything),
        "messages": sum(state.messages for state in states), "bytes": sum(state.bytes for state in states),
    }
    names = sorted(jetstream.accounts)
    if options.account in jetstream.accounts:
        names = [options.account]
    elif options.accounts:
        offset = min(max(options.offset, 0), len(names))
        names = names[offset:offset + (options.limit or DEFAULT_LIMIT)]
    else:
        names = []
    if names:
        document["account_details"] = [account_detail(jetstream, name, options) for name in names]
    document["total"] = len(jetstream.accounts)
    return document
