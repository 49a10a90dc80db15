"""The signed mirror list: building, signing and verifying the envelope.

The envelope is ``{"payloadType", "payload", "signatures"}``. ``payload``
is standard base64 of the exact JSON bytes; the signed bytes are the DSSE
v1 pre-authentication encoding of the payload type and those bytes, and
each signature is Ed25519. Verification works on the decoded bytes as
received and never re-serialises them.

Signing::

    payload = make_payload("https://registry.example.org",
                           ["https://mirror.example.org"], version, now)
    data = sign_envelope(payload, [private_key])

Verifying::

    try:
        signed = verify_envelope(data, keys, issuer, highest, now)
    except SameVersionError:
        pass                      # the list we already have; keep it
    except EnvelopeError as exc:
        log.warning("signed list refused: %s", exc.reason)

Every refusal is an :class:`EnvelopeError` subclass with a ``reason``.
"""

import base64
import binascii
import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from registry.guard import refused_address

PAYLOAD_TYPE = "application/vnd.dockerhub-build-status.mirrors+json; version=1"
ALGORITHM = "ed25519"
MAX_ENVELOPE_BYTES = 64 * 1024
MAX_MIRRORS = 100
LIFETIME = timedelta(hours=24)
MAX_CLOCK_AHEAD = timedelta(minutes=10)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
_MIRROR_URL = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>\[[0-9a-f:.]+\]|[a-z0-9.-]+)"
    r"(?::(?P<port>[1-9][0-9]{0,4}))?\Z"
)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


class EnvelopeError(ValueError):
    """A signed list was refused (or could not be made); see ``reason``.

    ``ignorable`` is true only for :class:`SameVersionError`, the one
    refusal that is no error: the list is the one already accepted.
    """

    ignorable = False

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class OversizeError(EnvelopeError):
    """The envelope is larger than 64 KiB."""


class MalformedEnvelopeError(EnvelopeError):
    """The envelope or its payload is not what the format says."""


class PayloadTypeError(EnvelopeError):
    """``payloadType`` is not :data:`PAYLOAD_TYPE`."""


class SignatureError(EnvelopeError):
    """No valid signature from a pinned key."""


class IssuerError(EnvelopeError):
    """The list names another registry than the one expected."""


class RollbackError(EnvelopeError):
    """The version is lower than the highest already accepted."""


class SameVersionError(EnvelopeError):
    """The version equals the highest accepted: keep the list you have."""

    ignorable = True


class ExpiredError(EnvelopeError):
    """The list has expired."""


class FutureIssueError(EnvelopeError):
    """The list was issued more than 10 minutes in the future."""


class MirrorURLError(EnvelopeError):
    """A mirror URL is not ``https://host[:port]`` (or is refused)."""


class EmptyListError(EnvelopeError):
    """The list holds no mirror."""


class TrustedKeyError(EnvelopeError):
    """A pinned key is not base64 of a raw 32-byte Ed25519 public key."""


@dataclass(frozen=True)
class Mirror:
    """One entry of a signed list; ``since`` is when it joined, as sent."""

    url: str
    since: str


@dataclass(frozen=True)
class SignedList:
    """A verified signed list.

    ``envelope`` holds the exact bytes received, to be served and relayed
    byte for byte; ``keyid`` names the pinned key whose signature held.
    """

    registry: str
    version: int
    issued: datetime
    expires: datetime
    mirrors: tuple
    envelope: bytes
    payload: bytes
    keyid: str

    @property
    def urls(self):
        return tuple(mirror.url for mirror in self.mirrors)


# -- encoding ----------------------------------------------------------


def pae(payload_type, body):
    """DSSE v1 pre-authentication encoding of ``payload_type`` and ``body``.

    >>> pae("http://example.com/HelloWorld", b"hello world")
    b'DSSEv1 29 http://example.com/HelloWorld 11 hello world'
    """
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(body), body)


def keyid(public_key):
    """First 16 hex digits of SHA-256 of the raw 32-byte public key.

    Accepts an Ed25519 public key, a private key (its public half) or
    the raw 32 bytes.
    """
    return hashlib.sha256(raw_public_key(public_key)).hexdigest()[:16]


def raw_public_key(key):
    """The raw 32 bytes of an Ed25519 public (or private) key."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    if isinstance(key, Ed25519PublicKey):
        return key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    if isinstance(key, bytes) and len(key) == 32:
        return key
    raise TypeError(f"not an Ed25519 key: {type(key).__name__}")


def load_trusted_key(text):
    """Parse a pinned key: base64 of a raw 32-byte Ed25519 public key."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError, AttributeError):
        raise TrustedKeyError(
            f"trusted key {text!r} is not base64; use the public_key= "
            "line printed by 'dockerhub-registry keygen'"
        ) from None
    if len(raw) != 32:
        raise TrustedKeyError(
            f"trusted key {text!r} holds {len(raw)} bytes, not the 32 of "
            "a raw Ed25519 public key"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def format_time(moment):
    """``moment`` as ``YYYY-MM-DDTHH:MM:SSZ`` (naive means UTC)."""
    return _utc(moment).strftime(TIME_FORMAT)


def parse_time(text):
    """Parse ``YYYY-MM-DDTHH:MM:SSZ`` into an aware UTC datetime."""
    if not isinstance(text, str) or not _TIME.match(text):
        raise ValueError(f"not a YYYY-MM-DDTHH:MM:SSZ time: {text!r}")
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def _utc(moment):
    if isinstance(moment, int | float):
        return datetime.fromtimestamp(moment, UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# -- mirror URLs -------------------------------------------------------


def mirror_url(url, allow_private=False):
    """Return the canonical form of a mirror URL, or raise MirrorURLError.

    Canonical is ``https://host[:port]``: lower case, no trailing slash, no
    default port, IPv6 in brackets and compressed. ``http://`` and
    non-global IP literals (or ``localhost``) only with ``allow_private``.

    >>> mirror_url("HTTPS://Mirror.Example.org:443/")
    'https://mirror.example.org'
    """
    if not isinstance(url, str):
        raise MirrorURLError(f"mirror URL {url!r} is not a string")
    text = url.strip().lower()
    text = text[:-1] if text.endswith("/") else text
    match = _MIRROR_URL.match(text)
    if not match:
        raise MirrorURLError(
            f"mirror URL {url!r} is not https://host[:port] "
            "(no path, query, user or fragment)"
        )
    scheme = match["scheme"]
    if scheme == "http" and not allow_private:
        raise MirrorURLError(f"mirror URL {url!r} is not https")
    host = _mirror_host(url, match["host"], allow_private)
    port = _mirror_port(url, scheme, match["port"])
    return f"{scheme}://{host}{port}"


def _mirror_host(url, host, allow_private):
    literal = host[1:-1] if host.startswith("[") else host
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        ip = None
    if host.startswith("[") and (ip is None or ip.version != 6):
        raise MirrorURLError(f"mirror URL {url!r}: bad IPv6 literal")
    if ip is not None:
        reason = refused_address(ip, allow_private)
        if reason:
            raise MirrorURLError(f"mirror URL {url!r}: {host} is {reason}")
        return f"[{ip.compressed}]" if ip.version == 6 else str(ip)
    return _mirror_name(url, host, allow_private)


def _mirror_name(url, host, allow_private):
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(x) for x in labels):
        raise MirrorURLError(f"mirror URL {url!r}: bad host name")
    if labels[-1].isdigit():
        raise MirrorURLError(f"mirror URL {url!r}: bad IPv4 address")
    if labels[-1] == "localhost" and not allow_private:
        raise MirrorURLError(f"mirror URL {url!r}: {host} is loopback")
    return host


def _mirror_port(url, scheme, port):
    if port is None:
        return ""
    number = int(port)
    if number > 65535:
        raise MirrorURLError(f"mirror URL {url!r}: bad port")
    if number == (443 if scheme == "https" else 80):
        return ""
    return f":{number}"


# -- making and signing ------------------------------------------------


def next_version(previous, now):
    """The version for a new list: Unix time of ``now``, or previous + 1.

    ``previous`` is the last version signed (None if none was).
    """
    version = int(_utc(now).timestamp())
    if previous is not None and version <= previous:
        version = previous + 1
    return version


def make_payload(registry_url, mirrors, version, now, allow_private=False):
    """Canonical compact JSON bytes of a list payload.

    ``mirrors`` is an iterable of URLs (each listed ``since`` ``now``) or
    a mapping of URL to the time it joined (datetime or Unix time). URLs
    are made canonical, de-duplicated and sorted; there must be 1 to 100.
    """
    entries = _mirror_entries(mirrors, now, allow_private)
    if not entries:
        raise EmptyListError("a signed list needs at least one mirror")
    if len(entries) > MAX_MIRRORS:
        raise EnvelopeError(
            f"{len(entries)} mirrors; a signed list holds {MAX_MIRRORS}"
        )
    if isinstance(version, bool) or not isinstance(version, int):
        raise EnvelopeError(f"version {version!r} is not an integer")

    issued = _utc(now).replace(microsecond=0)
    payload = {
        "registry": registry_url.rstrip("/"),
        "version": version,
        "issued": format_time(issued),
        "expires": format_time(issued + LIFETIME),
        "mirrors": [
            {"url": url, "since": since}
            for url, since in sorted(entries.items())
        ],
    }
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def _mirror_entries(mirrors, now, allow_private):
    if isinstance(mirrors, str):
        raise TypeError("mirrors must be a list of URLs, not one string")
    pairs = (
        mirrors.items()
        if isinstance(mirrors, Mapping)
        else ((url, now) for url in mirrors)
    )
    entries = {}
    for url, since in pairs:
        url = mirror_url(url, allow_private)
        since = format_time(since if since is not None else now)
        entries[url] = min(since, entries.get(url, since))
    return entries


def sign_envelope(payload, private_keys):
    """Sign ``payload`` bytes with each key; return the envelope bytes.

    ``private_keys`` is one Ed25519 private key or an iterable of them.
    """
    if isinstance(private_keys, Ed25519PrivateKey):
        private_keys = [private_keys]
    message = pae(PAYLOAD_TYPE, payload)
    signatures = [
        {
            "keyid": keyid(key),
            "alg": ALGORITHM,
            "sig": base64.b64encode(key.sign(message)).decode("ascii"),
        }
        for key in private_keys
    ]
    if not signatures:
        raise EnvelopeError("a signed list needs at least one key")
    envelope = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": signatures,
    }
    data = json.dumps(envelope, separators=(",", ":")).encode("ascii")
    if len(data) > MAX_ENVELOPE_BYTES:
        raise OversizeError(f"the envelope would be {len(data)} bytes")
    return data


# -- verifying ---------------------------------------------------------


def verify_envelope(
    data, trusted_keys, issuer, highest_version, now, allow_private=False
):
    """Verify a signed list and return it as a :class:`SignedList`.

    ``trusted_keys`` are the pinned keys (Ed25519 public keys or their
    base64 text), ``issuer`` the registry URL the list must name,
    ``highest_version`` the highest version accepted so far (None if
    none), ``now`` an aware datetime. Refusals, checked in this order:
    :class:`OversizeError`, :class:`MalformedEnvelopeError` (not an
    envelope), :class:`PayloadTypeError`, :class:`SignatureError`,
    :class:`MalformedEnvelopeError` (payload), :class:`IssuerError`,
    :class:`RollbackError`, :class:`SameVersionError` (ignorable),
    :class:`ExpiredError`, :class:`FutureIssueError`,
    :class:`MirrorURLError`, :class:`EmptyListError`.
    """
    if len(data) > MAX_ENVELOPE_BYTES:
        raise OversizeError(
            f"the signed list is {len(data)} bytes, over the "
            f"{MAX_ENVELOPE_BYTES} allowed"
        )
    envelope = _envelope_fields(data)
    if envelope["payloadType"] != PAYLOAD_TYPE:
        raise PayloadTypeError(
            f"payloadType {envelope['payloadType']!r} is not {PAYLOAD_TYPE}"
        )
    payload = _b64(envelope["payload"], "payload")
    signer = _check_signatures(
        envelope["signatures"], payload, _pinned(trusted_keys)
    )

    fields = _payload_fields(payload)
    _check_claims(fields, issuer, highest_version, now)
    mirrors = _checked_mirrors(fields["mirrors"], allow_private)
    return SignedList(
        registry=fields["registry"],
        version=fields["version"],
        issued=fields["issued"],
        expires=fields["expires"],
        mirrors=mirrors,
        envelope=bytes(data),
        payload=payload,
        keyid=signer,
    )


def _envelope_fields(data):
    try:
        envelope = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise MalformedEnvelopeError("the signed list is not JSON") from None
    if not isinstance(envelope, dict):
        raise MalformedEnvelopeError("the signed list is not a JSON object")
    for name, kind in (
        ("payloadType", str),
        ("payload", str),
        ("signatures", list),
    ):
        if not isinstance(envelope.get(name), kind):
            raise MalformedEnvelopeError(
                f"the envelope has no valid {name!r} field"
            )
    return envelope


def _b64(text, what):
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedEnvelopeError(f"{what} is not base64") from None


def _pinned(trusted_keys):
    keys = {}
    for key in trusted_keys:
        if isinstance(key, str):
            key = load_trusted_key(key)
        keys[keyid(key)] = key
    if not keys:
        raise TrustedKeyError("no trusted key is configured")
    return keys


def _check_signatures(signatures, payload, pinned):
    message = pae(PAYLOAD_TYPE, payload)
    tried = False
    for entry in signatures:
        if not isinstance(entry, dict) or entry.get("alg") != ALGORITHM:
            continue
        keyid_ = entry.get("keyid")
        key = pinned.get(keyid_) if isinstance(keyid_, str) else None
        if key is None or not isinstance(entry.get("sig"), str):
            continue
        tried = True
        if _signature_holds(key, entry["sig"], message):
            return entry["keyid"]
    if tried:
        raise SignatureError("the signature by the pinned key is not valid")
    raise SignatureError(
        "the signed list carries no signature from a pinned key"
    )


def _signature_holds(key, sig, message):
    try:
        key.verify(base64.b64decode(sig, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _payload_fields(payload):
    try:
        fields = json.loads(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise MalformedEnvelopeError("the payload is not JSON") from None
    if not isinstance(fields, dict):
        raise MalformedEnvelopeError("the payload is not a JSON object")

    version = fields.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise MalformedEnvelopeError("the payload has no integer version")
    if not isinstance(fields.get("registry"), str):
        raise MalformedEnvelopeError("the payload names no registry")
    if not isinstance(fields.get("mirrors"), list):
        raise MalformedEnvelopeError("the payload has no mirrors list")
    try:
        fields["issued"] = parse_time(fields.get("issued"))
        fields["expires"] = parse_time(fields.get("expires"))
    except ValueError as exc:
        raise MalformedEnvelopeError(
            f"the payload has a bad time: {exc}"
        ) from None
    return fields


def _check_claims(fields, issuer, highest_version, now):
    if fields["registry"] != issuer.rstrip("/"):
        raise IssuerError(
            f"the list is issued by {fields['registry']!r}, not {issuer!r}"
        )
    version = fields["version"]
    if highest_version is not None and version < highest_version:
        raise RollbackError(
            f"version {version} is older than {highest_version}, the "
            "highest accepted"
        )
    if highest_version is not None and version == highest_version:
        raise SameVersionError(f"version {version} is already accepted")
    now = _utc(now)
    if fields["expires"] <= now:
        expired = format_time(fields["expires"])
        raise ExpiredError(f"the list expired at {expired}")
    if fields["issued"] - now > MAX_CLOCK_AHEAD:
        raise FutureIssueError(
            f"the list is issued at {format_time(fields['issued'])}, "
            "more than 10 minutes ahead of this clock"
        )


def _checked_mirrors(entries, allow_private):
    mirrors = []
    for entry in entries:
        mirrors.append(_checked_mirror(entry, allow_private))
    if not mirrors:
        raise EmptyListError("the signed list holds no mirror")
    urls = [mirror.url for mirror in mirrors]
    if len(set(urls)) != len(urls):
        raise MirrorURLError("the signed list names a mirror twice")
    if len(urls) > MAX_MIRRORS:
        raise MirrorURLError(
            f"the signed list holds {len(urls)} mirrors, over {MAX_MIRRORS}"
        )
    return tuple(mirrors)


def _checked_mirror(entry, allow_private):
    url = entry.get("url") if isinstance(entry, dict) else None
    if mirror_url(url, allow_private) != url:
        raise MirrorURLError(
            f"mirror URL {url!r} is not in the form https://host[:port]"
        )
    since = entry.get("since")
    return Mirror(url, since if isinstance(since, str) else None)
