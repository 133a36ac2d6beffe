"""JetStream across a leaf link, kept apart as nats-server keeps it (addLeafNodeConnection).

In every account but the system account a link denies, both ways, the plain JetStream API and the
KV and object-store API subjects (`$JS.API.>`, `$KV.>`, `$OBJ.>`): they are not advertised, not
delivered, and not taken from the peer. The system account denies the same plus the cluster
subjects when the two sides do not share one JetStream (domains differ, or neither runs it);
otherwise nats-server extends its JetStream over the link and denies nothing. When the domains
differ and this side runs JetStream in a domain, messages for this side's own domain API
(`$JS.<domain>.API.>`) do not leave over the link either. The domain API itself crosses as the
mapped subjects `jetstream/api.py` answers (`$JS.<domain>.API.INFO`, `.STREAM.>`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgenats.subjects import subject_matches

CLIENT_DENY = ("$JS.API.>", "$KV.>", "$OBJ.>")
SYSTEM_DENY = ("$JSC.>", "$NRG.>", *CLIENT_DENY)


@dataclass(frozen=True)
class JetStreamIsolation:
    """What one link keeps apart: `denied` both ways, `outgoing` only for messages this side sends;
    `apart`: the two sides run separate JetStreams (nats-server then logs the domains)."""

    denied: tuple[str, ...]
    outgoing: tuple[str, ...]
    apart: bool

    def refuses_interest(self, subject: str) -> bool:
        """Whether interest on `subject` may not cross (nor a message arrive on it at a spoke); a
        subscription's wildcards are matched as tokens, as nats-server's deny lists match them."""
        return any(subject_matches(pattern, subject) for pattern in self.denied)

    def refuses_message(self, subject: str) -> bool:
        """Whether a message on `subject` may not be sent over the link (nor literal interest in it
        be taken from the peer)."""
        return self.refuses_interest(subject) or any(subject_matches(p, subject) for p in self.outgoing)


def isolation(system: bool, jetstream: bool, local_domain: str, remote_domain: str) -> JetStreamIsolation:
    """The isolation of a link bound to an account (`system`: the system account) on a server running
    JetStream (`jetstream`) in `local_domain`, whose peer said it runs in `remote_domain`."""
    apart = local_domain != remote_domain or (not jetstream and not local_domain)
    if system and not apart:
        return JetStreamIsolation((), (), apart)
    outgoing = (f"$JS.{local_domain}.API.>",) if apart and jetstream and local_domain else ()
    return JetStreamIsolation(SYSTEM_DENY if system else CLIENT_DENY, outgoing, apart)
