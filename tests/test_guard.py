"""The SSRF guard: refused targets, fetch limits and the registration cap."""

import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import threading
import time

import pytest
from conftest import free_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from registry import guard
from registry.guard import (
    FetchError,
    RefusedTarget,
    RegistrationLimiter,
    RegistrationLimitError,
    check_url,
    fetch,
    refused_address,
    resolve,
)

# -- refused and allowed addresses ---------------------------------------

REFUSED_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.1.2.3", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "IPv4-mapped address (wraps 127.0.0.1)"),
    ("::ffff:10.0.0.1", "IPv4-mapped address (wraps 10.0.0.1)"),
    ("::ffff:8.8.8.8", "IPv4-mapped address (wraps 8.8.8.8)"),
    ("::ffff:0:a00:1", "IPv4-translated address (wraps 10.0.0.1)"),
    ("::10.0.0.1", "IPv4-compatible address (wraps 10.0.0.1)"),
    ("::8.8.8.8", "IPv4-compatible address (wraps 8.8.8.8)"),
    ("64:ff9b::a00:1", "NAT64 address (wraps 10.0.0.1)"),
    ("64:ff9b::808:808", "NAT64 address (wraps 8.8.8.8)"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("2002:7f00:1::1", "6to4 address (wraps 127.0.0.1)"),
    ("2002:a9fe:a9fe::1", "6to4 address (wraps 169.254.169.254)"),
    ("2002:808:808::1", "6to4 address (wraps 8.8.8.8)"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001:db8::1", "documentation"),
    ("100::1", "discard-only"),
    ("fc00::1", "unique-local"),
    ("fd12:3456:789a::1", "unique-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("not-an-ip", "not an IP address"),
]

ALLOWED_ADDRESSES = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
]


@pytest.mark.parametrize("address, reason", REFUSED_ADDRESSES)
def test_non_global_address_is_refused(address, reason):
    assert reason in refused_address(address)


@pytest.mark.parametrize("address", ALLOWED_ADDRESSES)
def test_global_address_is_allowed(address):
    assert refused_address(address) is None
    assert refused_address(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.1", "::1", "fd00::1", "::ffff:10.0.0.1"]
)
def test_private_address_is_allowed_when_the_operator_allows_it(address):
    assert refused_address(address, allow_private=True) is None


@pytest.mark.parametrize("address", ["0.0.0.0", "224.0.0.1", "::", "ff02::1"])
def test_senseless_address_is_refused_even_on_private_networks(address):
    assert refused_address(address, allow_private=True)


# -- URLs --------------------------------------------------------------

REFUSED_URLS = [
    "http://mirror.example.org/v1/health",
    "ftp://mirror.example.org/",
    "file:///etc/passwd",
    "gopher://mirror.example.org/",
    "https:///v1/health",
    "https://user:pass@mirror.example.org/",
    "https://mirror.example.org@127.0.0.1/",
    "https://mirror.example.org/#fragment",
    "https://mirror.example.org:99999/",
    "https://mirror.example.org:0/",
    "https://mirror.example.org /",
    "https://mirror.example.org/\r\nX-Injected: 1",
    "https://mïrror.example.org/",
    "https://127.0.0.1/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://10.1.2.3/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/",
    "https://[2002:a00:1::1]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[fd00::1]/",
    "https://[fe80::1]/",
    "https://localhost/",
    "https://status.localhost/",
    "https://2130706433/",
    "https://0177.0.0.1/",
    "https://under_score.example.org/",
    "https://[v1.fe]/",
    "https://[::1/",
    "https://" + "a" * 2050,
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_refused_url_is_never_fetched(url, no_network):
    with pytest.raises(RefusedTarget):
        check_url(url)
    with pytest.raises(RefusedTarget):
        fetch(url)
    assert no_network.lookups == []


@pytest.mark.parametrize(
    "url, target",
    [
        (
            "https://mirror.example.org/v1/health",
            ("https", "mirror.example.org", 443, "/v1/health"),
        ),
        (
            "https://Mirror.Example.org:8443",
            ("https", "mirror.example.org", 8443, "/"),
        ),
        ("https://8.8.8.8/x?y=1", ("https", "8.8.8.8", 443, "/x?y=1")),
        (
            "https://[2606:4700:4700::1111]/",
            ("https", "2606:4700:4700::1111", 443, "/"),
        ),
    ],
)
def test_allowed_url_is_split_for_fetching(url, target):
    checked = check_url(url)

    assert (checked.scheme, checked.host, checked.port, checked.path) == target


def test_http_and_loopback_urls_are_allowed_on_private_networks():
    target = check_url("http://127.0.0.1:8080/v1/health", allow_private=True)

    assert target.port == 8080


# -- resolving ---------------------------------------------------------


def test_name_resolving_to_a_private_address_is_refused(fake_dns):
    fake_dns["mirror.example.org"] = ["10.0.0.7"]

    with pytest.raises(RefusedTarget, match="resolves to 10.0.0.7"):
        fetch("https://mirror.example.org/v1/health")


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "169.254.169.254", "::ffff:10.0.0.1", "fd00::5"]
)
def test_name_resolving_to_any_non_global_address_is_refused(
    fake_dns, address
):
    fake_dns["mirror.example.org"] = ["93.184.216.34", address]

    with pytest.raises(RefusedTarget, match="resolves to"):
        resolve(check_url("https://mirror.example.org/"))


def test_name_resolving_to_global_addresses_is_allowed(fake_dns):
    fake_dns["mirror.example.org"] = ["93.184.216.34", "2606:4700::1111"]

    addresses = resolve(check_url("https://mirror.example.org/"))

    assert [sockaddr[0] for _, sockaddr in addresses] == [
        "93.184.216.34",
        "2606:4700::1111",
    ]


def test_unknown_name_is_a_fetch_error(fake_dns):
    with pytest.raises(FetchError, match="cannot resolve"):
        fetch("https://nowhere.example.org/")


def test_fetch_connects_to_the_address_it_checked(server, fake_dns):
    fake_dns["mirror.example.org"] = ["127.0.0.1"]

    response = fetch(
        f"http://mirror.example.org:{server.port}/echo", allow_private=True
    )

    assert response.address == "127.0.0.1"
    assert response.json()["host"] == f"mirror.example.org:{server.port}"
    assert fake_dns.lookups == ["mirror.example.org"]


# -- fetching from a real server on loopback ----------------------------


def test_loopback_server_is_refused_without_allow_private(server):
    with pytest.raises(RefusedTarget):
        fetch(server.url("/health"))


def test_json_answer_is_returned(server):
    response = fetch(server.url("/health"), allow_private=True)

    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"ok": True, "api_version": 1}


def test_json_body_is_posted(server):
    response = fetch(
        server.url("/echo"),
        allow_private=True,
        method="POST",
        json={"url": "https://mirror.example.org"},
    )

    echoed = response.json()
    assert echoed["method"] == "POST"
    assert json.loads(echoed["body"]) == {"url": "https://mirror.example.org"}


def test_error_status_is_returned_not_raised(server):
    assert fetch(server.url("/missing"), allow_private=True).status == 404


def test_redirect_is_refused(server):
    with pytest.raises(FetchError, match="redirect"):
        fetch(server.url("/redirect"), allow_private=True)


def test_slow_answer_times_out(server):
    started = time.monotonic()

    with pytest.raises(FetchError, match="timed out"):
        fetch(server.url("/slow"), allow_private=True, timeout=(1, 0.3))

    assert time.monotonic() - started < 1.5


def test_trickling_answer_is_cut_at_the_deadline(server):
    started = time.monotonic()

    with pytest.raises(FetchError, match="within 0.8 s"):
        fetch(
            server.url("/trickle"),
            allow_private=True,
            timeout=(1, 1),
            deadline=0.8,
        )

    assert time.monotonic() - started < 1.5


def test_oversized_answer_is_refused(server):
    with pytest.raises(FetchError, match="larger than 65536 bytes"):
        fetch(server.url("/big"), allow_private=True)


def test_oversized_answer_without_length_is_refused(server):
    with pytest.raises(FetchError, match="larger than 1000 bytes"):
        fetch(server.url("/big-unsized"), allow_private=True, max_bytes=1000)


def test_refused_connection_is_a_fetch_error():
    port = free_port()

    with pytest.raises(FetchError, match="refused"):
        fetch(f"http://127.0.0.1:{port}/", allow_private=True)


# -- TLS ---------------------------------------------------------------


def test_https_checks_the_certificate_against_the_host_name(
    tls_server, fake_dns
):
    fake_dns["mirror.example.org"] = ["127.0.0.1"]

    response = fetch(
        f"https://mirror.example.org:{tls_server.port}/health",
        allow_private=True,
        context=tls_server.client_context,
    )

    assert response.json()["ok"] is True


def test_https_refuses_a_certificate_for_another_name(tls_server, fake_dns):
    fake_dns["other.example.org"] = ["127.0.0.1"]

    with pytest.raises(FetchError, match="certificate"):
        fetch(
            f"https://other.example.org:{tls_server.port}/health",
            allow_private=True,
            context=tls_server.client_context,
        )


def test_https_refuses_an_untrusted_certificate(tls_server, fake_dns):
    fake_dns["mirror.example.org"] = ["127.0.0.1"]

    with pytest.raises(FetchError, match="certificate"):
        fetch(
            f"https://mirror.example.org:{tls_server.port}/health",
            allow_private=True,
        )


def test_stalled_tls_handshake_is_cut_at_the_deadline():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        started = time.monotonic()

        with pytest.raises(FetchError, match="within 0.5 s"):
            fetch(
                f"https://127.0.0.1:{port}/",
                allow_private=True,
                timeout=(1, 5),
                deadline=0.5,
            )

    assert time.monotonic() - started < 1.5


# -- registrations -----------------------------------------------------


def test_registrations_per_client_are_bounded():
    limiter = RegistrationLimiter(per_client=2, total=10, clock=FakeClock())
    limiter.admit("203.0.113.5", "t1")
    limiter.admit("203.0.113.5", "t2")

    with pytest.raises(RegistrationLimitError, match="203.0.113.5"):
        limiter.admit("203.0.113.5", "t3")
    limiter.admit("198.51.100.7", "t4")


def test_registrations_in_total_are_bounded():
    limiter = RegistrationLimiter(per_client=5, total=2, clock=FakeClock())
    limiter.admit("203.0.113.5", "t1")
    limiter.admit("198.51.100.7", "t2")

    with pytest.raises(RegistrationLimitError, match="too many"):
        limiter.admit("192.0.2.9", "t3")


def test_pending_registrations_expire():
    clock = FakeClock()
    limiter = RegistrationLimiter(per_client=1, ttl=600, clock=clock)
    limiter.admit("203.0.113.5", "t1")

    clock.now += 601

    limiter.admit("203.0.113.5", "t2")
    assert limiter.pending() == 1


def test_released_registration_frees_its_place():
    limiter = RegistrationLimiter(per_client=1, clock=FakeClock())
    limiter.admit("203.0.113.5", "t1")

    limiter.release("t1")

    limiter.admit("203.0.113.5", "t2")


def test_ipv6_clients_are_counted_per_64_network():
    limiter = RegistrationLimiter(per_client=2, clock=FakeClock())
    limiter.admit("2001:db8:1:2::1", "t1")
    limiter.admit("2001:db8:1:2::ffff", "t2")

    with pytest.raises(RegistrationLimitError):
        limiter.admit("2001:db8:1:2:aaaa::3", "t3")
    limiter.admit("2001:db8:1:3::1", "t4")
    assert limiter.pending("2001:db8:1:2::9") == 2


# -- fixtures and helpers ----------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeDNS(dict):
    """Host name to addresses; records every lookup."""

    def __init__(self):
        super().__init__()
        self.lookups = []

    def getaddrinfo(self, host, port, *args, **kwargs):
        self.lookups.append(host)
        try:
            ipaddress.ip_address(host.split("%")[0])
            addresses = [host]
        except ValueError:
            if host not in self:
                raise socket.gaierror(socket.EAI_NONAME, "unknown") from None
            addresses = self[host]
        return [_addrinfo(a, port) for a in addresses]


def _addrinfo(address, port):
    if ":" in address:
        sockaddr = (address, port, 0, 0)
        return socket.AF_INET6, socket.SOCK_STREAM, 6, "", sockaddr
    return socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)


@pytest.fixture
def fake_dns(monkeypatch):
    dns = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    return dns


@pytest.fixture
def no_network(monkeypatch):
    """Fails the test if the guard tries to resolve or connect."""
    dns = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)

    def refuse_connect(*args):
        raise AssertionError("the guard tried to connect")

    monkeypatch.setattr(guard.socket.socket, "connect", refuse_connect)
    return dns


class Handler(http.server.BaseHTTPRequestHandler):
    stopping = None

    def do_GET(self):
        route = {
            "/health": self.health,
            "/echo": self.echo,
            "/redirect": self.redirect,
            "/slow": self.slow,
            "/trickle": self.trickle,
            "/big": self.big,
            "/big-unsized": self.big_unsized,
        }.get(self.path, self.missing)
        route()

    do_POST = do_GET

    def health(self):
        self.answer(200, {"ok": True, "api_version": 1})

    def echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        self.answer(
            200,
            {
                "method": self.command,
                "host": self.headers["Host"],
                "body": body,
            },
        )

    def redirect(self):
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def slow(self):
        if not self.stopping.wait(3):
            self.answer(200, {"ok": True})

    def trickle(self):
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        for _ in range(100):
            if self.stopping.wait(0.1):
                return
            self.wfile.write(b"x")
            self.wfile.flush()

    def big(self):
        self.send_response(200)
        self.send_header("Content-Length", str(70000))
        self.end_headers()
        self.wfile.write(b"x" * 70000)

    def big_unsized(self):
        self.close_connection = True
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"x" * 5000)

    def missing(self):
        self.answer(404, {"error": "not found"})

    def answer(self, status, document):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 that stops with its fixture."""

    def __init__(self, tls_context=None):
        self.stopping = threading.Event()
        handler = type("BoundHandler", (Handler,), {"stopping": self.stopping})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        if tls_context:
            self.httpd.socket = tls_context.wrap_socket(
                self.httpd.socket, server_side=True
            )
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self.thread.daemon = True

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server():
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def tls_server(tmp_path):
    ca_key, ca_cert = make_certificate("Test CA", None, None)
    key, cert = make_certificate("mirror.example.org", ca_key, ca_cert)
    (tmp_path / "ca.pem").write_bytes(pem(ca_cert))
    (tmp_path / "cert.pem").write_bytes(pem(cert) + pem(ca_cert))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    with LoopbackServer(server_context) as running:
        running.client_context = ssl.create_default_context(
            cafile=str(tmp_path / "ca.pem")
        )
        yield running


def make_certificate(name, issuer_key, issuer_cert):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
    )
    if issuer_cert is None:
        builder = (
            builder.add_extension(
                x509.BasicConstraints(ca=True, path_length=None), critical=True
            )
            .add_extension(
                x509.KeyUsage(
                    False, False, False, False, False, True, True, False, False
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                critical=False,
            )
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()
            ),
            critical=False,
        )
    return key, builder.sign(issuer_key or key, hashes.SHA256())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


