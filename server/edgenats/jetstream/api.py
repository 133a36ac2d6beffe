"""The `$JS.API.>` responder of one account: it decodes the request, calls the stream registry and
answers one JSON document on the reply subject, `type` first, errors as `{"code", "err_code",
"description"}` only. APIs edgenats does not implement are answered "<API> not supported" (so a
client never waits for a timeout). DIRECT.GET is passed to direct_get.py."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING

from edgenats import NATS_COMPAT_VERSION
from edgenats.jetstream import config as stream_config
from edgenats.jetstream import consumer_config, errors, retention
from edgenats.jetstream.direct_get import DirectGet
from edgenats.jetstream.json_fields import int_field, str_field
from edgenats.jetstream.limits import reserved
from edgenats.jetstream.store import timestamp
from edgenats.monitor.formats import go_json, rfc3339
from edgenats.protocol.headers import HeaderError, parse_headers

if TYPE_CHECKING:
    from edgenats.jetstream.consumer import Consumer
    from edgenats.jetstream.stream import Stream
    from edgenats.jetstream.streams import AccountStreams

API_PREFIX = "$JS.API."
API_LEVEL = 1  # the 2.11 set nats-py asks for: message TTLs and limit markers


def domain_prefix(domain: str) -> str:
    return f"$JS.{domain}.API."


# nats-server's domain mapping table: under `$JS.<domain>.API.` these reach the API, and the KV and
# object-store views their own subjects (so a leaf link advertises exactly these).
DOMAIN_API = ("INFO", "STREAM.>", "CONSUMER.>", "DIRECT.>", "META.>", "SERVER.>", "ACCOUNT.>")
DOMAIN_VIEWS = ("$KV.>", "$OBJ.>")


TYPE_PREFIX = "io.nats.jetstream.api.v1."
NAMES_PAGE = 1024
LIST_PAGE = 256
SUBJECTS_PAGE = 100_000
REQUIRED_API_LEVEL = "Nats-Required-Api-Level"

# Extra keys the reference puts beside `error` for some kinds.
_ERROR_EXTRAS = {
    "stream_info": {"total": 0, "offset": 0, "limit": 0},
    "stream_purge": {"purged": 0},
    "stream_names": {"total": 0, "offset": 0, "limit": 0, "streams": None},
}


def _body(payload: bytes) -> dict:
    """A request body: empty means {}; anything but a JSON object is `invalid JSON`."""
    if not payload.strip():
        return {}
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.invalid_json(str(error)) from None
    if not isinstance(document, dict):
        raise errors.invalid_json("json: cannot unmarshal into a request object")
    return document


def _sequence_info(consumer_seq: int, stream_seq: int, active_ns: int) -> dict:
    """A ConsumerInfo SequenceInfo; `last_active` once there was activity."""
    document: dict = {"consumer_seq": consumer_seq, "stream_seq": stream_seq}
    if active_ns:
        document["last_active"] = timestamp(active_ns)
    return document


def _listed(stream: Stream) -> list[Consumer]:
    """The consumers a stream lists and counts: all but direct ones, as nats-server."""
    return [consumer for consumer in stream.consumers.values() if not consumer_config.is_direct(consumer.config)]


def _kind(tokens: list[str]) -> str:
    """The response kind of an API subject's tokens after `$JS.API.`: STREAM.INFO -> stream_info."""
    if tokens[0] == "INFO":
        return "account_info"
    if tokens[0] == "CONSUMER" and len(tokens) > 1 and tokens[1] == "DURABLE":
        return "consumer_create"
    return "_".join(token.lower() for token in tokens[:2])


def error_document(tokens: list[str], error: errors.ApiError) -> bytes:
    """The answer to the API request of these tokens (after `$JS.API.`) that failed with `error`."""
    kind = _kind(tokens)
    return go_json({"type": f"{TYPE_PREFIX}{kind}_response", "error": error.to_json(),
                    **_ERROR_EXTRAS.get(kind, {})}, pretty=False)


def _api_name(tokens: list[str]) -> str:
    """The API an unimplemented subject names: CONSUMER.CREATE, CONSUMER.DURABLE.CREATE, STREAM.SNAPSHOT..."""
    length = 3 if len(tokens) > 2 and tokens[1] in ("DURABLE", "MSG", "LEADER", "PEER") else 2
    return ".".join(tokens[:length])


class JetStreamApi:
    def __init__(self, streams: AccountStreams, server_name: str) -> None:
        self.streams = streams
        self.account = streams.account
        self.server_name = server_name
        self.total = 0
        self.errors = 0
        self._subscriptions: list = []
        self._direct = DirectGet(streams)
        self._handlers = {
            ("INFO",): self._account_info,
            ("STREAM", "CREATE"): self._stream_create,
            ("STREAM", "UPDATE"): self._stream_update,
            ("STREAM", "INFO"): self._stream_info,
            ("STREAM", "DELETE"): self._stream_delete,
            ("STREAM", "PURGE"): self._stream_purge,
            ("STREAM", "NAMES"): self._stream_names,
            ("STREAM", "LIST"): self._stream_list,
            ("STREAM", "MSG", "GET"): self._msg_get,
            ("STREAM", "MSG", "DELETE"): self._msg_delete,
        }

    def start(self) -> None:
        """Answer on `$JS.API.>` and, with a domain, on its mapped `$JS.<domain>.API.` subjects too (as
        nats-server maps the domain's prefix onto the API in every JetStream account)."""
        subscribe = self.account.subscribe_internal
        self._subscriptions = [subscribe(API_PREFIX + ">", self._request_on(len(API_PREFIX)))]
        if self.streams.domain:
            prefix = domain_prefix(self.streams.domain)
            request, view = self._request_on(len(prefix)), self._view_on(len(prefix))
            self._subscriptions += [subscribe(prefix + tail, request) for tail in DOMAIN_API]
            self._subscriptions += [subscribe(prefix + tail, view) for tail in DOMAIN_VIEWS]

    def stop(self) -> None:
        for subscription in self._subscriptions:
            self.account.unsubscribe_internal(subscription)
        self._subscriptions = []

    def _request_on(self, prefix_length: int):
        return lambda subject, reply, headers, payload: self._request(
            subject[prefix_length:].split("."), reply, headers, payload)

    def _view_on(self, prefix_length: int):
        """`$JS.<domain>.API.$KV.<rest>` is published on as `$KV.<rest>` (the same for `$OBJ`)."""
        return lambda subject, reply, headers, payload: self.account.publish_internal(
            subject[prefix_length:], payload, reply, headers)

    # dispatch ----------------------------------------------------------------------------------

    def _route(self, tokens: list[str]):
        """(handler, kind, the name tokens), or None when not implemented."""
        for length in (3, 2, 1):
            key = tuple(tokens[:length])
            handler = self._handlers.get(key)
            if handler is None:
                continue
            rest = tokens[length:]
            if key in (("INFO",), ("STREAM", "NAMES"), ("STREAM", "LIST")):
                return (handler, _kind(tokens), ()) if not rest else None
            # One name token, as nats-server's `$JS.API.STREAM.INFO.*` subscriptions match.
            return (handler, "_".join(t.lower() for t in key), (rest[0],)) if len(rest) == 1 else None
        return None

    def _consumer_route(self, tokens: list[str]):
        """CONSUMER.* subjects: (handler, kind, name tokens) as nats-server's subscriptions match them;
        the filter of CONSUMER.CREATE.<stream>.<name>.<filter> may hold dots."""
        verb, rest = tokens[1] if len(tokens) > 1 else "", tokens[2:]
        if verb == "CREATE" and 1 <= len(rest):
            filter_subject = ".".join(rest[2:])
            return self._consumer_create, "consumer_create", (rest[0], rest[1] if len(rest) > 1 else "",
                                                              filter_subject, False)
        if verb == "DURABLE" and rest[:1] == ["CREATE"] and len(rest) == 3:
            return self._consumer_create, "consumer_create", (rest[1], rest[2], "", True)
        handlers = {"INFO": (self._consumer_info, 2), "DELETE": (self._consumer_delete, 2),
                    "NAMES": (self._consumer_names, 1), "LIST": (self._consumer_list, 1)}
        if verb in handlers and len(rest) == handlers[verb][1]:
            return handlers[verb][0], f"consumer_{verb.lower()}", tuple(rest)
        return None

    def _request(self, tokens: list[str], reply: str | None, headers: bytes | None, payload: bytes) -> int:
        """One API request, its subject's tokens after the prefix."""
        if tokens[0] == "DIRECT":
            return self._direct.request(tokens, reply, payload)
        if tokens[:3] == ["CONSUMER", "MSG", "NEXT"]:
            return self._msg_next(tokens[3:], reply, payload)
        self.total += 1
        routed = self._consumer_route(tokens) if tokens[0] == "CONSUMER" else self._route(tokens)
        if routed is None:
            handler, kind, args = None, _kind(tokens), ()
        else:
            handler, kind, args = routed
        try:
            self._check_api_level(headers)
            if handler is None:
                raise errors.not_supported(_api_name(tokens))
            body = handler(*args, payload)
        except errors.ApiError as error:
            self.errors += 1
            body = {"error": error.to_json(), **_ERROR_EXTRAS.get(kind, {})}
        if reply:  # without one it is carried out all the same, answered to nobody, as by nats-server
            self.account.publish_internal(reply, go_json({"type": f"{TYPE_PREFIX}{kind}_response", **body},
                                                         pretty=False))
        return 1

    @staticmethod
    def _check_api_level(headers: bytes | None) -> None:
        if not headers:
            return
        try:
            required = parse_headers(headers).get(REQUIRED_API_LEVEL)
        except HeaderError:
            return
        if required is not None and required.strip().isdigit() and int(required) > API_LEVEL:
            raise errors.api_level_required()

    # documents ---------------------------------------------------------------------------------

    @staticmethod
    def config_document(stream: Stream) -> dict:
        config = dict(stream.config)
        required = "1" if stream.config["allow_msg_ttl"] else "0"
        config["metadata"] = {"_nats.level": str(API_LEVEL), "_nats.req.level": required,
                              "_nats.ver": NATS_COMPAT_VERSION, **stream.config.get("metadata", {})}
        return config

    @staticmethod
    def state_document(stream: Stream, subjects_filter: str = "") -> dict:
        state = stream.store.state()
        document = {
            "messages": state.messages,
            "bytes": state.bytes,
            "first_seq": state.first_seq,
            "first_ts": timestamp(state.first_time_ns),
            "last_seq": state.last_seq,
            "last_ts": timestamp(state.last_time_ns),
        }
        if state.num_subjects:
            document["num_subjects"] = state.num_subjects
        if subjects_filter:
            document["subjects"] = stream.store.subjects(subjects_filter) or None
            if document["subjects"] is None:
                del document["subjects"]
        if state.num_deleted:
            document["num_deleted"] = state.num_deleted
        document["consumer_count"] = len(_listed(stream))
        return document

    def stream_document(self, stream: Stream, subjects_filter: str = "", with_domain: bool = False) -> dict:
        """config, created, state (and the domain, which INFO and LIST show but CREATE does not)."""
        document = {"config": self.config_document(stream), "created": timestamp(stream.created_ns),
                    "state": self.state_document(stream, subjects_filter)}
        if with_domain and self.streams.domain:
            document["domain"] = self.streams.domain
        return document

    # handlers ----------------------------------------------------------------------------------

    def _account_info(self, payload: bytes) -> dict:
        memory = storage = 0
        for stream in self.streams.streams.values():
            used = stream.store.state().bytes
            if stream.config["storage"] == "memory":
                memory += used
            else:
                storage += used
        live = self.streams.live
        document = {"memory": memory, "storage": storage, "reserved_memory": reserved(live, "memory"),
                    "reserved_storage": reserved(live, "file"), "streams": len(live),
                    "consumers": sum(len(stream.consumers) for stream in live),
                    "limits": self.streams.limits.to_json()}
        if self.streams.domain:
            document["domain"] = self.streams.domain
        document["api"] = {"level": API_LEVEL, "total": self.total, "errors": self.errors}
        return document

    def _config_request(self, name: str, payload: bytes, creating: bool) -> dict:
        request = _body(payload)
        body_name = request.get("name")
        if creating or body_name:
            if body_name != name:
                raise errors.name_mismatch()
        else:
            stream_config.check_name("")
        return stream_config.normalise(request)

    def _stream_create(self, name: str, payload: bytes) -> dict:
        stream = self.streams.create(self._config_request(name, payload, creating=True))
        return {**self.stream_document(stream), **stream.sourcing.info(), "ts": rfc3339(), "did_create": True}

    def _stream_update(self, name: str, payload: bytes) -> dict:
        self.streams.get(name)
        stream = self.streams.update(self._config_request(name, payload, creating=False))
        return {**self.stream_document(stream), "ts": rfc3339()}

    def _stream_info(self, name: str, payload: bytes) -> dict:
        stream = self.streams.get(name)
        request = _body(payload)
        subjects_filter = str_field(request, "subjects_filter")
        document = self.stream_document(stream, subjects_filter, with_domain=True)
        if subjects_filter:
            paging = {"total": len(document["state"].get("subjects") or {}), "offset": 0, "limit": SUBJECTS_PAGE}
        else:
            paging = {"total": 0, "offset": 0, "limit": 0}
        return {**paging, **document, "cluster": {"leader": self.server_name}, **stream.sourcing.info(),
                "ts": rfc3339()}

    def _stream_delete(self, name: str, payload: bytes) -> dict:
        self.streams.delete(name)
        return {"success": True}

    def _stream_purge(self, name: str, payload: bytes) -> dict:
        stream = self.streams.get(name)
        request = _body(payload)
        subject_filter = str_field(request, "filter") or None
        seq = int_field(request, "seq")
        keep = int_field(request, "keep")
        if seq and keep:
            raise errors.bad_request()
        if stream.config["sealed"]:
            raise errors.sealed_stream()
        if stream.config["deny_purge"]:
            raise errors.purge_not_permitted()
        purged = stream.store.purge(subject_filter, seq or None, keep or None)
        return {"success": True, "purged": purged}

    def _page(self, payload: bytes) -> tuple[list[Stream], int, int]:
        request = _body(payload)
        offset = max(0, int_field(request, "offset"))
        subject = str_field(request, "subject")
        matching = [self.streams.streams[name] for name in sorted(self.streams.streams)]
        if subject:
            matching = [stream for stream in matching
                        if stream_config.collides(stream.config.get("subjects", []), subject)]
        return matching, offset, len(matching)

    def _stream_names(self, payload: bytes) -> dict:
        matching, offset, total = self._page(payload)
        names = [stream.name for stream in matching[offset:offset + NAMES_PAGE]]
        return {"total": total, "offset": offset, "limit": NAMES_PAGE, "streams": names or None}

    def _stream_list(self, payload: bytes) -> dict:
        matching, offset, total = self._page(payload)
        infos = [{**self.stream_document(stream, with_domain=True), "ts": rfc3339()}
                 for stream in matching[offset:offset + LIST_PAGE]]
        return {"total": total, "offset": offset, "limit": LIST_PAGE, "streams": infos}

    def _msg_get(self, name: str, payload: bytes) -> dict:
        stream = self.streams.get(name)
        request = _body(payload)
        seq = int_field(request, "seq")
        last_by = str_field(request, "last_by_subj")
        next_by = str_field(request, "next_by_subj")
        if last_by and (seq or next_by):
            raise errors.bad_request()
        if last_by:
            found = stream.store.last_for_subject(last_by)
        elif next_by:
            found = stream.store.next_for_subject(next_by, max(seq, 1))
        elif seq > 0:
            found = stream.store.get(seq)
        else:
            raise errors.bad_request()
        if found is None:
            raise errors.no_message_found()
        message: dict = {"subject": found.subject, "seq": found.seq}
        if found.headers:
            message["hdrs"] = base64.b64encode(found.headers).decode("ascii")
        if found.data:
            message["data"] = base64.b64encode(found.data).decode("ascii")
        message["time"] = timestamp(found.time_ns)
        return {"message": message}

    # consumers ---------------------------------------------------------------------------------

    def consumer_document(self, consumer: Consumer) -> dict:
        config = dict(consumer.config)
        metadata = {"_nats.level": str(API_LEVEL), "_nats.req.level": "0", "_nats.ver": NATS_COMPAT_VERSION,
                    **consumer.config.get("metadata", {})}
        config["metadata"] = dict(sorted(metadata.items()))  # Go writes a map's keys in order
        document = {
            "stream_name": consumer.stream_name, "name": consumer.name, "created": timestamp(consumer.created_ns),
            "config": config,
            "delivered": _sequence_info(consumer.delivered_cseq, consumer.delivered_sseq, consumer.last_delivered_ns),
            "ack_floor": _sequence_info(consumer.floor_cseq, consumer.floor_sseq, consumer.last_ack_ns),
            "num_ack_pending": consumer.num_ack_pending(), "num_redelivered": consumer.num_redelivered(),
            "num_waiting": consumer.num_waiting(), "num_pending": consumer.num_pending(),
        }
        if consumer.push_bound():
            document["push_bound"] = True
        document["ts"] = rfc3339()
        return document

    def _consumer_create(self, stream_name: str, name: str, filter_subject: str, durable_only: bool,
                         payload: bytes) -> dict:
        request = _body(payload)
        if request.get("stream_name") != stream_name:
            raise errors.name_mismatch()
        config = request.get("config")
        if not isinstance(config, dict):
            raise errors.invalid_json("json: cannot unmarshal into Go struct field .config")
        durable = str_field(config, "durable_name")
        if durable_only and not durable:
            raise errors.durable_name_missing()
        if name:
            if durable and durable != name:
                raise errors.durable_name_mismatch()
        elif durable:
            raise errors.ephemeral_with_durable()
        if filter_subject:
            if config.get("filter_subjects"):
                raise errors.multiple_filters_in_subject_api()
            if (config.get("filter_subject") or "") != filter_subject:
                raise errors.filter_mismatch()
        for given in (durable, str_field(config, "name")):
            consumer_config.check_name(given)
        generated = not (name or str_field(config, "name"))
        name = name or str_field(config, "name") or consumer_config.generated_name()
        stream = self.streams.get(stream_name)
        normalised = consumer_config.normalise(config, name, durable=bool(durable), generated=generated,
                                               stream_subjects=stream.config.get("subjects", []))
        cap = self.streams.limits.max_ack_pending
        if 0 < cap < normalised.get("max_ack_pending", 0) and not config.get("max_ack_pending"):
            normalised["max_ack_pending"] = cap  # the account's cap is the default
        existing = stream.consumers.get(name)
        action = request.get("action") or ""
        if existing is not None:
            if existing.config != normalised:
                if action == "create":
                    raise errors.consumer_exists()
                consumer_config.check_update(existing.config, normalised, existing.push_bound())
                self.streams.update_consumer(existing, normalised)
            return self.consumer_document(existing)
        if action == "update":
            raise errors.consumer_error(10149, "consumer does not exist")
        limit = stream.config["max_consumers"]
        if len(stream.consumers) >= (limit if limit > 0 else consumer_config.DEFAULT_MAX_CONSUMERS):
            raise errors.max_consumers_reached()
        self.streams.accounting.check_consumer(self.streams.limits, self.streams.live, normalised)
        retention.check_new_consumer(stream.config["retention"], stream.consumers.values(), normalised)
        consumer = self.streams.add_consumer(stream, name, normalised, time.time_ns())
        return self.consumer_document(consumer)

    def _consumer(self, stream_name: str, name: str) -> Consumer:
        consumer = self.streams.get(stream_name).consumers.get(name)
        if consumer is None:
            raise errors.consumer_not_found()
        return consumer

    def _consumer_info(self, stream_name: str, name: str, payload: bytes) -> dict:
        return self.consumer_document(self._consumer(stream_name, name))

    def _consumer_delete(self, stream_name: str, name: str, payload: bytes) -> dict:
        self.streams.remove_consumer(self._consumer(stream_name, name))
        return {"success": True}

    def _consumer_page(self, stream_name: str, payload: bytes) -> tuple[list[Consumer], int]:
        stream = self.streams.get(stream_name)
        offset = max(0, int_field(_body(payload), "offset"))
        return sorted(_listed(stream), key=lambda consumer: consumer.name), offset

    def _consumer_names(self, stream_name: str, payload: bytes) -> dict:
        consumers, offset = self._consumer_page(stream_name, payload)
        return {"total": len(consumers), "offset": offset, "limit": NAMES_PAGE,
                "consumers": [c.name for c in consumers[offset:offset + NAMES_PAGE]]}

    def _consumer_list(self, stream_name: str, payload: bytes) -> dict:
        consumers, offset = self._consumer_page(stream_name, payload)
        return {"total": len(consumers), "offset": offset, "limit": LIST_PAGE,
                "consumers": [self.consumer_document(c) for c in consumers[offset:offset + LIST_PAGE]]}

    def _msg_next(self, rest: list[str], reply: str | None, payload: bytes) -> int:
        """CONSUMER.MSG.NEXT.<stream>.<consumer>: no responder for an unknown consumer (503 to the client)."""
        stream = self.streams.streams.get(rest[0]) if len(rest) == 2 else None
        consumer = stream.consumers.get(rest[1]) if stream is not None else None
        if consumer is None:
            return 0
        if reply:
            consumer.pull(reply, payload)
        return 1

    def _msg_delete(self, name: str, payload: bytes) -> dict:
        stream = self.streams.get(name)
        request = _body(payload)
        seq = int_field(request, "seq")
        if seq <= 0:
            raise errors.bad_request()
        if stream.config["sealed"]:
            raise errors.sealed_stream()
        if stream.config["deny_delete"]:
            raise errors.delete_not_permitted()
        if not stream.store.delete(seq):
            raise errors.sequence_not_found(seq)
        return {"success": True}
