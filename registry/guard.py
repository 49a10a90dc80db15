"""The SSRF guard: fetch a URL that someone else named, and nothing else.

A registry or a mirror fetches URLs it learns from registrations, peers and
signed lists. Each such fetch goes through :func:`fetch`, which

- allows ``https`` only (``http`` too when the operator allows private
  addresses, for local networks and tests),
- resolves the host once and refuses the whole target if any address is
  not global (:func:`refused_address` gives the reason),
- connects to the address it checked, never to a second DNS answer, while
  TLS still checks the certificate against the host name,
- refuses redirects, and caps connect and read time, the total time and
  the size of the answer.

Usage::

    response = fetch("https://mirror.example.org/v1/health")
    info = response.json()

Every failure is a :class:`GuardError`: :class:`RefusedTarget` when the
URL or its address is not allowed, :class:`FetchError` when the fetch
itself failed.
"""

import http.client
import ipaddress
import json as jsonlib
import logging
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

USER_AGENT = "dockerhub-build-status (federation)"
MAX_URL_LENGTH = 2048

_HOSTNAME = re.compile(
    r"(?=.{1,253}\Z)"
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\Z"
)
_METHOD = re.compile(r"[A-Z]{1,16}\Z")


class GuardError(Exception):
    """A guarded fetch was refused or failed; ``reason`` says why."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class RefusedTarget(GuardError):
    """The URL, or an address its host resolves to, is not allowed."""


class FetchError(GuardError):
    """The fetch failed: no connection, a timeout, a redirect, too large."""


class RegistrationLimitError(GuardError):
    """Too many registrations are pending, for one client or in total."""


# -- addresses ---------------------------------------------------------


def _low32(ip):
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


def _net(text):
    return ipaddress.ip_network(text)


# Checked in order; the first match names the reason. Anything else that
# the standard library does not call global is refused as well.
_IPV4_RULES = [
    (_net("0.0.0.0/8"), "an unspecified ('this network') address"),
    (_net("127.0.0.0/8"), "a loopback address"),
    (_net("10.0.0.0/8"), "a private address"),
    (_net("172.16.0.0/12"), "a private address"),
    (_net("192.168.0.0/16"), "a private address"),
    (_net("169.254.0.0/16"), "a link-local address"),
    (_net("100.64.0.0/10"), "a shared (CGNAT) address"),
    (_net("224.0.0.0/4"), "a multicast address"),
    (_net("255.255.255.255/32"), "the broadcast address"),
    (_net("240.0.0.0/4"), "a reserved address"),
    (_net("192.0.0.0/24"), "an IETF protocol assignment"),
    (_net("192.0.2.0/24"), "a documentation address"),
    (_net("198.51.100.0/24"), "a documentation address"),
    (_net("203.0.113.0/24"), "a documentation address"),
    (_net("198.18.0.0/15"), "a benchmarking address"),
    (_net("192.88.99.0/24"), "a 6to4 relay anycast address"),
]

# (network, reason, how to find the wrapped IPv4 address or None)
_IPV6_RULES = [
    (_net("::/128"), "the unspecified address", None),
    (_net("::1/128"), "the loopback address", None),
    (_net("::ffff:0:0/96"), "an IPv4-mapped address", _low32),
    (_net("::ffff:0:0:0/96"), "an IPv4-translated address", _low32),
    (_net("::/96"), "an IPv4-compatible address", _low32),
    (_net("64:ff9b::/96"), "a NAT64 address", _low32),
    (_net("64:ff9b:1::/48"), "a local-use NAT64 address", None),
    (_net("2002::/16"), "a 6to4 address", lambda ip: ip.sixtofour),
    (_net("2001::/32"), "a Teredo address", lambda ip: ip.teredo[1]),
    (_net("2001:db8::/32"), "a documentation address", None),
    (_net("100::/64"), "a discard-only address", None),
    (_net("fc00::/7"), "a unique-local address", None),
    (_net("fe80::/10"), "a link-local address", None),
    (_net("fec0::/10"), "a site-local address", None),
    (_net("ff00::/8"), "a multicast address", None),
]

# Never a sensible target, even on a private network.
_ALWAYS_REFUSED = {
    "an unspecified ('this network') address",
    "the unspecified address",
    "a multicast address",
    "the broadcast address",
}


def refused_address(ip, allow_private=False):
    """Return why ``ip`` may not be fetched from, or None if it may.

    ``ip`` is a string or an :mod:`ipaddress` object; a string that is no
    IP address is refused. With ``allow_private`` only addresses that are
    never a sensible target (unspecified, multicast, broadcast) are
    refused.

    >>> refused_address("::ffff:10.0.0.1")
    'an IPv4-mapped address (wraps 10.0.0.1)'
    """
    try:
        ip = ipaddress.ip_address(ip)
    except ValueError:
        return "not an IP address"

    reason, wrapped = _matching_rule(ip)
    if reason is None and not ip.is_global:
        reason = "not a global address"
    if reason is None:
        return None
    if allow_private and reason not in _ALWAYS_REFUSED:
        return None
    return f"{reason} (wraps {wrapped})" if wrapped else reason


def _matching_rule(ip):
    if ip.version == 4:
        for network, reason in _IPV4_RULES:
            if ip in network:
                return reason, None
        return None, None

    for network, reason, wrapped in _IPV6_RULES:
        if ip in network:
            return reason, wrapped(ip) if wrapped else None
    return None, None


# -- URLs --------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A URL that passed :func:`check_url`, split into what a fetch needs.

    ``host`` is lower case, without brackets for IPv6 literals; ``path``
    includes the query and is at least ``/``.
    """

    scheme: str
    host: str
    port: int
    path: str

    @property
    def default_port(self):
        return 443 if self.scheme == "https" else 80


def check_url(url, allow_private=False):
    """Check ``url`` without fetching it; return its :class:`Target`.

    Refuses (:class:`RefusedTarget`) anything but an absolute ``https``
    URL (``http`` too with ``allow_private``) with a plain host name or an
    allowed IP literal: no user information, no fragment, no control
    characters. Host names are resolved later, by :func:`resolve`.
    """
    _check_url_text(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise RefusedTarget(f"{url}: not a valid URL ({exc})") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise RefusedTarget(_scheme_reason(url, allow_private))
    if "@" in parts.netloc:
        raise RefusedTarget(f"{url}: user information is not allowed")
    if parts.fragment or url.endswith("#"):
        raise RefusedTarget(f"{url}: a fragment is not allowed")

    host = _checked_host(url, parts.hostname, allow_private)
    if "[" in parts.netloc and ":" not in host:
        raise RefusedTarget(f"{url}: brackets hold only IPv6 addresses")
    port = _checked_port(url, parts)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path)


def _check_url_text(url):
    if not isinstance(url, str) or not url:
        raise RefusedTarget("the URL is missing")
    if len(url) > MAX_URL_LENGTH:
        raise RefusedTarget(f"the URL is longer than {MAX_URL_LENGTH}")
    if not url.isascii() or any(c <= " " or c == "\x7f" for c in url):
        raise RefusedTarget(
            f"{url!r}: spaces, control or non-ASCII characters are not "
            "allowed (use the punycode form of the host name)"
        )


def _scheme_reason(url, allow_private):
    if allow_private:
        return f"{url}: only https:// and http:// URLs are allowed"
    return f"{url}: only https:// URLs are allowed"


def _checked_host(url, host, allow_private):
    if not host:
        raise RefusedTarget(f"{url}: the host is missing")
    if _is_ip_literal(host):
        reason = refused_address(host, allow_private)
        if reason:
            raise RefusedTarget(f"{url}: {host} is {reason}")
        return str(ipaddress.ip_address(host))
    if not _HOSTNAME.match(host) or host.replace(".", "").isdigit():
        raise RefusedTarget(f"{url}: {host!r} is not a valid host name")
    if _is_localhost(host) and not allow_private:
        raise RefusedTarget(f"{url}: {host} is a loopback name")
    return host


def _is_ip_literal(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_localhost(host):
    return host == "localhost" or host.endswith(".localhost")


def _checked_port(url, parts):
    try:
        port = parts.port
    except ValueError:
        raise RefusedTarget(f"{url}: the port is not valid") from None
    if port == 0:
        raise RefusedTarget(f"{url}: port 0 is not valid")
    if port is None:
        return 443 if parts.scheme == "https" else 80
    return port


def resolve(target, allow_private=False):
    """Resolve ``target.host`` once; return the socket addresses to use.

    Raises :class:`RefusedTarget` when any address is refused (a name
    with one private answer is not trusted for its public ones either)
    and :class:`FetchError` when the name does not resolve.
    """
    try:
        infos = socket.getaddrinfo(
            target.host, target.port, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {target.host}: {exc}") from None

    addresses = []
    for family, _type, _proto, _name, sockaddr in infos:
        reason = refused_address(sockaddr[0], allow_private)
        if reason:
            raise RefusedTarget(
                f"{target.host} resolves to {sockaddr[0]}, {reason}"
            )
        if (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    if not addresses:
        raise FetchError(f"{target.host} has no address")
    return addresses


# -- fetching ----------------------------------------------------------


@dataclass
class GuardedResponse:
    """An answer received through :func:`fetch` (never a redirect).

    ``headers`` has lower-case names; ``address`` is the IP address the
    answer came from.
    """

    status: int
    headers: dict = field(repr=False)
    body: bytes = field(repr=False)
    url: str = ""
    address: str = ""

    def json(self):
        """The body parsed as JSON; :class:`FetchError` if it is not."""
        try:
            return jsonlib.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise FetchError(f"{self.url}: the answer is not JSON") from None


def fetch(
    url,
    *,
    allow_private=False,
    timeout=(3, 5),
    deadline=10,
    max_bytes=65536,
    method="GET",
    json=None,
    headers=None,
    context=None,
):
    """Fetch ``url`` under the guard and return a :class:`GuardedResponse`.

    ``timeout`` is ``(connect, read)`` in seconds (or one number for
    both), ``deadline`` the most the whole fetch may take, ``max_bytes``
    the largest body accepted.
    ``json`` is sent as a JSON body. ``context`` is the
    :class:`ssl.SSLContext` for ``https`` (default: the system's trusted
    certificates). Any status but a 3xx is returned; a 3xx raises.
    """
    if not _METHOD.match(method):
        raise ValueError(f"not an HTTP method: {method!r}")
    if isinstance(timeout, int | float):
        timeout = (timeout, timeout)
    target = check_url(url, allow_private)
    request = _request(target, method, json, headers)

    with _Deadline(deadline) as clock:
        addresses = resolve(target, allow_private)
        sock, address = _connect(target, addresses, timeout, clock)
        try:
            clock.watch(sock)
            sock = _start_tls(target, sock, timeout, clock, context)
            status, answer, body = _exchange(
                target, sock, request, timeout, max_bytes, clock
            )
        finally:
            sock.close()

    if 300 <= status < 400:
        location = answer.get("location", "nowhere")
        raise FetchError(f"{url}: redirect to {location} refused")
    log.debug("%s %s: %s from %s", method, url, status, address)
    return GuardedResponse(status, answer, body, url, address)


@dataclass(frozen=True)
class _Request:
    method: str
    body: bytes | None
    headers: dict


def _request(target, method, json, headers):
    merged = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Connection": "close",
    }
    body = None
    if json is not None:
        body = jsonlib.dumps(json).encode()
        merged["Content-Type"] = "application/json"
    merged.update(headers or {})
    return _Request(method, body, merged)


class _Deadline:
    """The total time a fetch may take.

    Connecting is bounded by the time left. After that a timer shuts the
    connection down when time is up, so that a peer that trickles bytes
    cannot hold a fetch longer than the deadline in any phase (TLS,
    headers, body). The timer works on its own duplicate of the socket,
    which only it closes, so it never touches a file descriptor that has
    been reused elsewhere.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._watched = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()
        with self._lock:
            if self._watched is not None:
                self._watched.close()
                self._watched = None

    def remaining(self):
        left = self.end - time.monotonic()
        if left <= 0 or self.expired:
            raise self.error()
        return left

    def passed(self):
        return self.expired or time.monotonic() >= self.end

    def error(self):
        return FetchError(f"no complete answer within {self.seconds} s")

    def watch(self, sock):
        with self._lock:
            if self.expired:
                raise self.error()
            self._watched = sock.dup()

    def _expire(self):
        with self._lock:
            self.expired = True
            if self._watched is not None:
                try:
                    self._watched.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _connect(target, addresses, timeout, clock):
    last_error = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(min(timeout[0], clock.remaining()))
            sock.connect(sockaddr)
            return sock, sockaddr[0]
        except OSError as exc:
            last_error = exc
            sock.close()
        except GuardError:
            sock.close()
            raise
    if clock.passed():
        raise clock.error()
    raise FetchError(
        f"cannot connect to {target.host} port {target.port}: "
        f"{_describe(last_error)}"
    )


def _start_tls(target, sock, timeout, clock, context):
    if target.scheme != "https":
        return sock
    context = context or ssl.create_default_context()
    sock.settimeout(min(timeout[1], clock.remaining()))
    try:
        tls = context.wrap_socket(sock, server_hostname=target.host)
    except (OSError, ValueError) as exc:
        raise _fetch_error(target, exc, clock) from None
    return tls


def _exchange(target, sock, request, timeout, max_bytes, clock):
    conn = http.client.HTTPConnection(target.host, target.port)
    conn.default_port = target.default_port
    conn.auto_open = 0
    conn.sock = sock
    sock.settimeout(min(timeout[1], clock.remaining()))
    response = None
    try:
        conn.request(
            request.method, target.path, request.body, request.headers
        )
        response = conn.getresponse()
        headers = _headers(response)
        body = _read_body(target, response, headers, max_bytes)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _fetch_error(target, exc, clock) from None
    finally:
        # The response holds a file object on the socket, which keeps it
        # open until that is closed too.
        if response is not None:
            response.close()
        conn.close()
    if clock.expired:
        raise clock.error()
    return response.status, headers, body


def _headers(response):
    headers = {}
    for name, value in response.getheaders():
        name = name.lower()
        headers[name] = (
            f"{headers[name]}, {value}" if name in headers else value
        )
    return headers


def _read_body(target, response, headers, max_bytes):
    too_large = FetchError(
        f"the answer from {target.host} is larger than {max_bytes} bytes"
    )
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise too_large
    body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise too_large
    return body


def _fetch_error(target, exc, clock):
    if clock.passed():
        return clock.error()
    where = f"{target.host} port {target.port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FetchError(
            f"{where}: certificate not valid: {exc.verify_message}"
        )
    return FetchError(f"{where}: {_describe(exc)}")


def _describe(exc):
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.HTTPException):
        return f"not a valid HTTP answer ({type(exc).__name__})"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text


# -- registrations -----------------------------------------------------


class RegistrationLimiter:
    """Bound the registrations waiting for their challenge.

    At most ``per_client`` pending registrations per client address (IPv6
    clients by /64 network, since one host holds a whole /64) and
    ``total`` overall; each expires ``ttl`` seconds after admission.
    ``clock`` returns seconds (tests pass a fake one).

    Usage::

        limiter.admit(client_ip, token)   # RegistrationLimitError if full
        ...
        limiter.release(token)            # challenge done, either way
    """

    def __init__(
        self, per_client=3, total=100, ttl=600.0, clock=time.monotonic
    ):
        self.per_client = per_client
        self.total = total
        self.ttl = ttl
        self.clock = clock
        self._pending = {}
        self._lock = threading.Lock()

    def admit(self, client, token):
        """Count ``token`` as pending for ``client``, or raise."""
        key = client_key(client)
        with self._lock:
            self._prune()
            if len(self._pending) >= self.total:
                raise RegistrationLimitError(
                    "too many registrations are pending; try again later"
                )
            if self._count(key) >= self.per_client:
                raise RegistrationLimitError(
                    f"too many registrations are pending from {key}; "
                    "try again later"
                )
            self._pending[token] = (key, self.clock() + self.ttl)

    def release(self, token):
        """Forget ``token`` (unknown tokens are ignored)."""
        with self._lock:
            self._pending.pop(token, None)

    def pending(self, client=None):
        """How many registrations are pending, for ``client`` or all."""
        with self._lock:
            self._prune()
            if client is None:
                return len(self._pending)
            return self._count(client_key(client))

    def _count(self, key):
        return sum(1 for k, _ in self._pending.values() if k == key)

    def _prune(self):
        now = self.clock()
        for token, (_key, expires) in list(self._pending.items()):
            if expires <= now:
                del self._pending[token]


def client_key(client):
    """The key a client address is counted under: IPv6 by /64."""
    try:
        ip = ipaddress.ip_address(client)
    except ValueError:
        return str(client)
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
