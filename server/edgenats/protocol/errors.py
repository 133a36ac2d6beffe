"""Protocol violations found while parsing, each carrying what nats-server tells the peer.

Every violation closes the connection. `wire_text` is the `-ERR` text sent first, or None when
nats-server closes silently (the "right verb, wrong arguments" class).
"""


class ProtocolViolation(Exception):
    wire_text: str | None = None
    reason = "Protocol Violation"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.wire_text or self.reason)
        self.detail = detail


class UnknownOperation(ProtocolViolation):
    wire_text = "Unknown Protocol Operation"
    reason = "Parse Error"


class MalformedArguments(ProtocolViolation):
    """Right verb, wrong arguments: closed without an -ERR, as nats-server does."""

    reason = "Protocol Violation"


class PeerReportedError(ProtocolViolation):
    """The peer sent -ERR; nats-server closes such a client connection without answering."""

    reason = "Protocol Violation"


class ControlLineTooLong(ProtocolViolation):
    wire_text = "maximum control line exceeded"
    reason = "Maximum Control Line Exceeded"


class PayloadTooLarge(ProtocolViolation):
    wire_text = "Maximum Payload Violation"
    reason = "Maximum Message Payload Exceeded"


class AuthorizationRequired(ProtocolViolation):
    """An operation other than CONNECT arrived first on a listener that requires authentication."""

    wire_text = "Authorization Violation"
    reason = "Authentication Failure"
