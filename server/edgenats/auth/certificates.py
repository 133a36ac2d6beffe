"""`verify_and_map`: which configured user a client certificate names, in nats-server's order: its e-mail
SANs, its DNS SANs, its URI SANs (each looked up as a user name), then its subject DN, matched to a user
named by a DN with the same RDNs in any order, or by the DN's string form (`CN=alice,OU=Edge,O=Acme`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509

User = TypeVar("User")
# An RDN: its attributes as (TYPE, value), the type upper-cased (DN types are case-insensitive).
RDN = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class ClientCertificate:
    emails: tuple[str, ...]
    dns_names: tuple[str, ...]
    uris: tuple[str, ...]
    subject: str
    rdns: tuple[RDN, ...]

    @classmethod
    def from_der(cls, der: bytes) -> ClientCertificate:
        certificate = x509.load_der_x509_certificate(der)
        try:
            names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            names = x509.SubjectAlternativeName([])
        rdns = tuple(
            frozenset((attribute.rfc4514_attribute_name.upper(), str(attribute.value)) for attribute in rdn)
            for rdn in certificate.subject.rdns
        )
        return cls(
            tuple(names.get_values_for_type(x509.RFC822Name)),
            tuple(names.get_values_for_type(x509.DNSName)),
            tuple(names.get_values_for_type(x509.UniformResourceIdentifier)),
            certificate.subject.rfc4514_string(),
            rdns,
        )

    def find_user(self, users: Mapping[str, User]) -> User | None:
        """The user this certificate maps to, or None."""
        for name in (*self.emails, *self.dns_names, *self.uris):
            if name in users:
                return users[name]
        if self.rdns:
            mine = sorted(self.rdns, key=sorted)
            for name, user in users.items():
                rdns = parse_dn(name)
                if rdns is not None and sorted(rdns, key=sorted) == mine:
                    return user
        return users.get(self.subject) if self.subject else None


def parse_dn(text: str) -> tuple[RDN, ...] | None:
    """The RDNs of an RFC 4514 string (`CN=alice,O=Acme`, `+` joining attributes of one RDN, `\\` escapes);
    None when `text` is not a DN (a user named by an e-mail or host name)."""
    rdns: list[RDN] = []
    for rdn_text in _split(text, ","):
        attributes = []
        for attribute in _split(rdn_text, "+"):
            kind, equals, value = attribute.partition("=")
            kind = kind.strip()
            if not equals or not kind or "\\" in kind:
                return None
            attributes.append((kind.upper(), _unescape(value.strip())))
        rdns.append(frozenset(attributes))
    return tuple(rdns)


def _split(text: str, separator: str) -> list[str]:
    """`text` cut at every `separator` not escaped with a backslash."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    out, position = [], 0
    while position < len(value):
        char = value[position]
        if char == "\\" and position + 1 < len(value):
            pair = value[position + 1:position + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                out.append(chr(int(pair, 16)))
                position += 3
                continue
            out.append(value[position + 1])
            position += 2
            continue
        out.append(char)
        position += 1
    return "".join(out)
