"""The JetStream error catalogue: nats-server's (code, err_code, description) triples, as an exception
that API handlers and the publish path raise and that renders as the exact `error` object."""

from __future__ import annotations


class ApiError(Exception):
    """An error reply: `{"code": ..., "err_code": ..., "description": ...}` and nothing else."""

    def __init__(self, code: int, err_code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.err_code = err_code
        self.description = description

    def to_json(self) -> dict:
        return {"code": self.code, "err_code": self.err_code, "description": self.description}


class CipherError(Exception):
    """A stored stream cannot be opened with the configured jetstream.key (or without one): the
    server does not start."""


def bad_request(description: str = "bad request") -> ApiError:
    return ApiError(400, 10003, description)


def not_supported(api: str) -> ApiError:
    return ApiError(400, 10003, f"{api} not supported")


def invalid_json(why: str) -> ApiError:
    return ApiError(400, 10025, f"invalid JSON: {why}")


def no_message_found() -> ApiError:
    return ApiError(404, 10037, "no message found")


def sequence_not_found(seq: int) -> ApiError:
    return ApiError(400, 10043, f"sequence {seq} not found")


def invalid_config(why: str) -> ApiError:
    return ApiError(500, 10052, why)


def message_too_big() -> ApiError:
    return ApiError(400, 10054, "message size exceeds maximum allowed")


def name_mismatch() -> ApiError:
    return ApiError(400, 10056, "stream name in subject does not match request")


def delete_not_permitted() -> ApiError:
    return ApiError(500, 10057, "message delete not permitted")


def name_in_use() -> ApiError:
    return ApiError(400, 10058, "stream name already in use with a different configuration")


def stream_not_found() -> ApiError:
    return ApiError(404, 10059, "stream not found")


def expected_stream_mismatch() -> ApiError:
    return ApiError(400, 10060, "expected stream does not match")


def subjects_overlap() -> ApiError:
    return ApiError(400, 10065, "subjects overlap with an existing stream")


def wrong_last_msg_id(last: str) -> ApiError:
    return ApiError(400, 10070, f"wrong last msg ID: {last}")


def wrong_last_sequence(actual: int) -> ApiError:
    return ApiError(400, 10071, f"wrong last sequence: {actual}")


def replicas_not_supported() -> ApiError:
    return ApiError(500, 10074, "replicas > 1 not supported in non-clustered mode")


def store_limit(why: str) -> ApiError:
    """discard:new refusals: "maximum messages exceeded", "... bytes ...", "... per subject ..."."""
    return ApiError(503, 10077, why)


def too_many_requests() -> ApiError:
    """The stream's ingest buffer is full (max_buffered_msgs / max_buffered_size)."""
    return ApiError(429, 10167, "too many requests")


def sealed_stream() -> ApiError:
    return ApiError(400, 10109, "invalid operation on sealed stream")


def purge_not_permitted() -> ApiError:
    return ApiError(500, 10110, "stream purge not permitted")


def rollup_refused(why: str) -> ApiError:
    return ApiError(500, 10111, why)


def invalid_ttl() -> ApiError:
    return ApiError(400, 10165, "invalid per-message TTL")


def ttl_disabled() -> ApiError:
    return ApiError(400, 10166, "per-message TTL is disabled")


def api_level_required() -> ApiError:
    return ApiError(412, 10185, "JetStream minimum api level required")


def consumer_create(why: str) -> ApiError:
    """A refused change to an existing consumer, e.g. "deliver policy can not be updated"."""
    return ApiError(500, 10012, why)


def max_consumers_reached() -> ApiError:
    return ApiError(400, 10026, "maximum consumers limit reached")


def consumer_not_found() -> ApiError:
    return ApiError(404, 10014, "consumer not found")


def durable_name_mismatch() -> ApiError:
    return ApiError(400, 10017, "consumer name in subject does not match durable name in request")


def durable_name_missing() -> ApiError:
    return ApiError(400, 10018, "consumer expected to be durable but a durable name was not set")


def ephemeral_with_durable() -> ApiError:
    return ApiError(400, 10020, "consumer expected to be ephemeral but a durable name was set in request")


def invalid_consumer_policy(why: str) -> ApiError:
    return ApiError(400, 10094, why)


def filter_mismatch() -> ApiError:
    return ApiError(400, 10131, "Consumer create request did not match filtered subject from create subject")


def duplicate_filters() -> ApiError:
    return ApiError(400, 10136, "consumer cannot have both FilterSubject and FilterSubjects specified")


def consumer_name_with_path_separator() -> ApiError:
    return ApiError(400, 10127, "Consumer name can not contain path separators")


def multiple_filters_in_subject_api() -> ApiError:
    return ApiError(400, 10137, "consumer with multiple subject filters cannot use subject based API")


def overlapping_filters() -> ApiError:
    return ApiError(400, 10138, "consumer subject filters cannot overlap")


def consumer_exists() -> ApiError:
    return ApiError(400, 10148, "consumer already exists")


# Accounting: per-account JetStream and the server's storage maxima (limits.py).


def not_enabled_for_account() -> ApiError:
    return ApiError(503, 10039, "JetStream not enabled for account")


def account_resources_exceeded() -> ApiError:
    return ApiError(400, 10002, "resource limits exceeded for account")


def insufficient_resources() -> ApiError:
    return ApiError(503, 10023, "insufficient resources")


def max_streams_reached() -> ApiError:
    return ApiError(400, 10027, "maximum number of streams reached")


def memory_resources_exceeded() -> ApiError:
    return ApiError(500, 10028, "insufficient memory resources available")


def storage_resources_exceeded() -> ApiError:
    return ApiError(500, 10047, "insufficient storage resources available")


def max_bytes_required() -> ApiError:
    return ApiError(400, 10113, "account requires a stream config to have max bytes set")


def max_ack_pending_exceeded(limit: int) -> ApiError:
    return ApiError(400, 10121, f"consumer max ack pending exceeds system limit of {limit}")


def stream_max_bytes_exceeded() -> ApiError:
    return ApiError(400, 10122, "stream max bytes exceeds account limit max stream bytes")


def consumer_error(err_code: int, description: str) -> ApiError:
    """A consumer config the reference refuses with 400 and its own code, e.g. 10079 "consumer deliver
    subject has wildcards"."""
    return ApiError(400, err_code, description)
