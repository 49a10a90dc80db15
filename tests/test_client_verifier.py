"""status.js verifies signed lists as registry/envelope.py does.

Each signed list below goes through the Python verifier and, in Chromium,
through the client's WebCrypto verifier; both must accept it, or refuse
it for the same rule (the first one broken, in the same order).
"""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import chromium
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_client_browser import StaticHost

from registry import envelope
from registry.envelope import PAYLOAD_TYPE, keyid, pae, verify_envelope
from registry.keys import public_key_text

pytestmark = pytest.mark.browser

REGISTRY = "https://registry.example.org"
NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()

REASONS = {
    envelope.OversizeError: "oversize",
    envelope.MalformedEnvelopeError: "malformed",
    envelope.PayloadTypeError: "payload-type",
    envelope.SignatureError: "signature",
    envelope.IssuerError: "issuer",
    envelope.RollbackError: "rollback",
    envelope.SameVersionError: "same-version",
    envelope.ExpiredError: "expired",
    envelope.FutureIssueError: "future",
    envelope.MirrorURLError: "mirror-url",
    envelope.EmptyListError: "empty",
}


def when(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def payload(**changes):
    """Payload JSON bytes; a change to None leaves the field out."""
    fields = {
        "registry": REGISTRY,
        "version": 100,
        "issued": when(NOW),
        "expires": when(NOW + timedelta(hours=24)),
        "mirrors": [{"url": "https://a.example.org",
                     "since": when(NOW)}],
    }
    fields.update(changes)
    fields = {name: value for name, value in fields.items()
              if value is not None}
    return json.dumps(fields, sort_keys=True).encode()


def mirrors(*urls):
    return [{"url": url, "since": when(NOW)} for url in urls]


def signature(body, key=KEY, payload_type=PAYLOAD_TYPE):
    sig = key.sign(pae(payload_type, body))
    return {"keyid": keyid(key), "alg": "ed25519",
            "sig": base64.b64encode(sig).decode()}


def signed(body=None, signatures=None, payload_type=PAYLOAD_TYPE,
           encoded=None):
    body = payload() if body is None else body
    return json.dumps({
        "payloadType": payload_type,
        "payload": encoded if encoded is not None
        else base64.b64encode(body).decode(),
        "signatures": [signature(body)] if signatures is None
        else signatures,
    }).encode()


def raw_payload(text):
    """A payload whose JSON text is given as is."""
    body = text.encode()
    return signed(body)


GOOD = signed()
TOO_BIG = GOOD[:-1] + b" " * (64 * 1024) + b"}"

# (name, signed list bytes, highest accepted version, allow_private)
LISTS = [
    ("good", GOOD, None, False),
    ("oversize", TOO_BIG, None, False),
    ("not-json", b"not json", None, False),
    ("not-utf8", b'{"payloadType": "\xff"}', None, False),
    ("array", b"[]", None, False),
    ("no-payload-type", json.dumps({"payload": "", "signatures": []})
     .encode(), None, False),
    ("signatures-object", json.dumps({
        "payloadType": PAYLOAD_TYPE, "payload": "",
        "signatures": {}}).encode(), None, False),
    ("wrong-payload-type", signed(payload_type="application/json"),
     None, False),
    ("wrong-type-and-signature", signed(
        payload_type="text/plain", signatures=[]), None, False),
    ("payload-not-base64", signed(encoded="!!!!"), None, False),
    ("payload-unpadded", signed(encoded="eyJ9"[:3]), None, False),
    ("payload-excess-padding", signed(
        encoded=base64.b64encode(b"{}").decode() + "="), None, False),
    ("no-signatures", signed(signatures=[]), None, False),
    ("unpinned-key", signed(signatures=[signature(payload(),
                                                  OTHER_KEY)]),
     None, False),
    ("tampered", signed(payload(version=101),
                        signatures=[signature(payload())]), None, False),
    ("sig-not-base64", signed(signatures=[
        {**signature(payload()), "sig": "not base64"}]), None, False),
    ("sig-other-alg", signed(signatures=[
        {**signature(payload()), "alg": "rsa"}]), None, False),
    ("sig-short", signed(signatures=[
        {**signature(payload()), "sig": "AAAA"}]), None, False),
    ("sig-entry-string", signed(signatures=["x"]), None, False),
    ("bad-then-good", signed(signatures=[
        {**signature(payload()), "sig": base64.b64encode(
            bytes(64)).decode()}, signature(payload())]), None, False),
    ("signed-for-other-type", signed(signatures=[
        signature(payload(), payload_type="text/plain")]), None, False),
    ("payload-not-json", signed(b"not json"), None, False),
    ("payload-array", signed(b"[1]"), None, False),
    ("payload-not-utf8", signed(b'{"registry": "\xff"}'), None, False),
    ("no-version", signed(payload(version=None)), None, False),
    ("version-string", signed(payload(version="100")), None, False),
    ("version-bool", signed(payload(version=True)), None, False),
    ("version-float", raw_payload(payload().decode().replace(
        '"version": 100', '"version": 100.0')), None, False),
    ("version-exponent", raw_payload(payload().decode().replace(
        '"version": 100', '"version": 1e2')), None, False),
    ("no-registry", signed(payload(registry=None)), None, False),
    ("registry-number", signed(payload(registry=7)), None, False),
    ("mirrors-object", signed(payload(mirrors={"url": "x"})), None,
     False),
    ("issued-bad", signed(payload(issued="2026-06-01 12:00:00")), None,
     False),
    ("issued-february-30", signed(payload(issued="2026-02-30T00:00:00Z")),
     None, False),
    ("issued-second-60", signed(payload(issued="2026-06-01T12:00:60Z")),
     None, False),
    ("issued-year-0", signed(payload(issued="0000-06-01T12:00:00Z")),
     None, False),
    ("no-expires", signed(payload(expires=None)), None, False),
    ("other-issuer", signed(payload(registry="https://evil.example.org")),
     None, False),
    ("issuer-slash", signed(payload(registry=REGISTRY + "/")), None,
     False),
    ("other-issuer-and-expired", signed(payload(
        registry="https://evil.example.org",
        expires=when(NOW - timedelta(hours=1)))), None, False),
    ("rollback", GOOD, 101, False),
    ("same-version", GOOD, 100, False),
    ("newer", GOOD, 99, False),
    ("rollback-and-expired", signed(payload(
        expires=when(NOW - timedelta(hours=1)))), 101, False),
    ("expired", signed(payload(expires=when(NOW - timedelta(hours=1)))),
     None, False),
    ("expires-now", signed(payload(expires=when(NOW))), None, False),
    ("expired-and-bad-mirror", signed(payload(
        expires=when(NOW), mirrors=mirrors("http://a.example.org")
    )), None, False),
    ("issued-11-minutes-ahead", signed(payload(
        issued=when(NOW + timedelta(minutes=11)))), None, False),
    ("issued-9-minutes-ahead", signed(payload(
        issued=when(NOW + timedelta(minutes=9)))), None, False),
    ("http-mirror", signed(payload(mirrors=mirrors(
        "http://a.example.org"))), None, False),
    ("http-mirror-private-allowed", signed(payload(mirrors=mirrors(
        "http://127.0.0.1:8080"))), None, True),
    ("mirror-not-canonical", signed(payload(mirrors=mirrors(
        "https://a.example.org/"))), None, False),
    ("mirror-entry-string", signed(payload(mirrors=[
        "https://a.example.org"])), None, False),
    ("mirror-url-null", signed(payload(mirrors=[{"url": None}])), None,
     False),
    ("mirror-no-url", signed(payload(mirrors=[{"since": "x"}])), None,
     False),
    ("mirror-twice", signed(payload(mirrors=mirrors(
        "https://a.example.org", "https://a.example.org"))), None, False),
    ("bad-mirror-then-empty", signed(payload(mirrors=mirrors(
        "ftp://a.example.org"))), None, False),
    ("empty", signed(payload(mirrors=[])), None, False),
    ("101-mirrors", signed(payload(mirrors=mirrors(*(
        f"https://m{number}.example.org" for number in range(101))))),
     None, False),
    ("100-mirrors", signed(payload(mirrors=mirrors(*(
        f"https://m{number}.example.org" for number in range(100))))),
     None, False),
]

# Mirror URLs a signed list may or may not carry as they are written.
URLS = [
    "https://a.example.org", "https://a.example.org:8443",
    "https://a.example.org:443", "https://a.example.org:0",
    "https://a.example.org:65535", "https://a.example.org:65536",
    "https://a.example.org:08443", "https://A.example.org",
    "https://a.example.org/", "https://a.example.org/x",
    "https://a.example.org?x", "https://a.example.org#x",
    "https://user@a.example.org", " https://a.example.org",
    "https://a_b.example.org", "https://-a.example.org",
    "https://a-.example.org", "https://a..example.org",
    "https://" + "a" * 63 + ".org", "https://" + "a" * 64 + ".org",
    "https://" + ".".join(["a" * 60] * 5), "https://a.example.123",
    "https://localhost", "https://mirror.localhost",
    "https://1.2.3.4", "https://01.2.3.4", "https://1.2.3",
    "https://256.1.1.1", "https://10.0.0.1", "https://127.0.0.1:8080",
    "https://100.64.0.1", "https://169.254.1.1", "https://172.16.0.1",
    "https://192.168.1.1", "https://192.0.2.1", "https://198.18.0.1",
    "https://0.0.0.0", "https://224.0.0.1", "https://255.255.255.255",
    "https://240.0.0.1", "https://8.8.8.8",
    "https://[2606:4700::1111]", "https://[2606:4700:0:0:0:0:0:1111]",
    "https://[2606:4700::1111]:8443", "https://[2606:4700::0:1111]",
    "https://[2606:0:0:1:0:0:0:1]", "https://[2606:0:0:1::1]",
    "https://[2606::1:0:0:0:1]", "https://[1:2:3:4:5:6:7:8]",
    "https://[1:2:3:4:5:6:7::]", "https://[1:2:3:4:5:6:7:8:9]",
    "https://[::1]", "https://[::]", "https://[::ffff:1.2.3.4]",
    "https://[::ffff:102:304]", "https://[64:ff9b::102:304]",
    "https://[2002:102:304::1]", "https://[2001::1]",
    "https://[2001:db8::1]", "https://[fd00::1]", "https://[fe80::1]",
    "https://[fec0::1]", "https://[ff02::1]", "https://[100::1]",
    "https://[2001:4860::1]", "https://[2606:4700::1.2.3.4]",
    "https://[1.2.3.4]", "https://[::1::2]", "https://[12345::1]",
    "http://a.example.org", "http://127.0.0.1", "http://127.0.0.1:80",
    "ftp://a.example.org", "https://", "", None, 42,
]


@pytest.fixture(scope="module")
def verifier(tmp_path_factory):
    """A page that loads status.js, which paints nothing outside the
    badge and offers its verifier instead."""
    static = StaticHost(tmp_path_factory.mktemp("verifier"))
    site = static.site([], None, ["https://mirror.example.org"])
    try:
        with chromium() as browser:
            page = browser.new_page()
            page.goto(static.page(
                f'<script src="{site}/status.js"></script>'))
            page.wait_for_function("() => globalThis.dockerhubBuildStatus")
            yield page
    finally:
        static.stop()


def python_verdict(data, highest, allow_private):
    try:
        signed_list = verify_envelope(data, [KEY.public_key()], REGISTRY,
                                      highest, NOW, allow_private)
    except envelope.EnvelopeError as error:
        return REASONS[type(error)]
    return f"ok:{signed_list.version}:{','.join(signed_list.urls)}"


CLIENT_VERDICTS = """async ([lists, key, registry, now]) => {
  const client = globalThis.dockerhubBuildStatus;
  const pinned = await client.importTrustedKeys([key]);
  const bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const out = {};
  for (const [name, data, highest, allowPrivate] of lists) {
    try {
      const signed = await client.verifySignedList(
        bytes(data), pinned, registry, highest, now, allowPrivate);
      out[name] = `ok:${signed.version}:${signed.mirrors.join(",")}`;
    } catch (error) {
      out[name] = error.reason || String(error);
    }
  }
  return out;
}"""


def test_client_and_python_give_every_list_the_same_verdict(verifier):
    expected = {name: python_verdict(data, highest, allow_private)
                for name, data, highest, allow_private in LISTS}
    lists = [[name, base64.b64encode(data).decode(), highest,
              allow_private]
             for name, data, highest, allow_private in LISTS]

    verdicts = verifier.evaluate(CLIENT_VERDICTS, [
        lists, public_key_text(KEY), REGISTRY, NOW.timestamp() * 1000])

    assert verdicts == expected
    assert expected["good"].startswith("ok:100")
    assert len(set(expected.values())) >= 12


def python_keeps(url, allow_private):
    try:
        return envelope.mirror_url(url, allow_private) == url
    except envelope.MirrorURLError:
        return False


CLIENT_KEEPS = """([urls, allowPrivate]) => {
  const client = globalThis.dockerhubBuildStatus;
  return Object.fromEntries(urls.map((url) => [
    JSON.stringify(url), client.isCanonicalMirrorURL(url, allowPrivate)]));
}"""


@pytest.mark.parametrize("allow_private", [False, True],
                         ids=["public", "private-allowed"])
def test_client_and_python_accept_the_same_mirror_urls(verifier,
                                                       allow_private):
    expected = {json.dumps(url): python_keeps(url, allow_private)
                for url in URLS}

    kept = verifier.evaluate(CLIENT_KEEPS, [URLS, allow_private])

    assert kept == expected
    assert sum(expected.values()) >= 8
