"""The signed mirror list: encoding, signing and every rejection rule."""

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from registry import envelope
from registry.envelope import (
    EmptyListError,
    EnvelopeError,
    ExpiredError,
    FutureIssueError,
    IssuerError,
    MalformedEnvelopeError,
    MirrorURLError,
    OversizeError,
    PayloadTypeError,
    RollbackError,
    SameVersionError,
    SignatureError,
    TrustedKeyError,
    keyid,
    load_trusted_key,
    make_payload,
    mirror_url,
    next_version,
    pae,
    sign_envelope,
    verify_envelope,
)
from registry.keys import load_key, public_key_text

DATA = Path(__file__).parent / "data" / "registry"
ISSUER = "https://registry.example.org"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
VERSION = 1714564800
MIRRORS = ["https://b.example.org", "https://a.example.org:8443"]


# -- encoding ----------------------------------------------------------


@pytest.mark.parametrize(
    "vector",
    json.loads((DATA / "dsse_pae_vectors.json").read_text()),
    ids=lambda v: v["source"],
)
def test_pae_matches_dsse_vectors(vector):
    encoded = pae(vector["payload_type"], vector["body"].encode())

    assert encoded == vector["pae"].encode()


def test_pae_counts_bytes_not_characters():
    assert pae("t", "é".encode()) == b"DSSEv1 1 t 2 \xc3\xa9"


def test_keyid_is_first_16_hex_digits_of_sha256_of_raw_key():
    key = signing_key()
    raw = base64.b64decode(public_key_text(key))

    assert keyid(key) == hashlib.sha256(raw).hexdigest()[:16]
    assert keyid(key.public_key()) == keyid(raw) == keyid(key)


def test_payload_is_canonical_compact_json():
    payload = make_payload(ISSUER + "/", MIRRORS, VERSION, NOW)

    fields = json.loads(payload)
    assert (
        payload
        == json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    )
    assert fields["registry"] == ISSUER
    assert fields["version"] == VERSION
    assert fields["issued"] == "2024-05-01T12:00:00Z"
    assert fields["expires"] == "2024-05-02T12:00:00Z"


def test_payload_mirrors_are_canonical_sorted_and_unique():
    mirrors = [
        "HTTPS://B.example.org/",
        "https://a.example.org:8443",
        "https://b.example.org:443",
    ]

    fields = json.loads(make_payload(ISSUER, mirrors, VERSION, NOW))

    assert fields["mirrors"] == [
        {"url": "https://a.example.org:8443", "since": "2024-05-01T12:00:00Z"},
        {"url": "https://b.example.org", "since": "2024-05-01T12:00:00Z"},
    ]


def test_payload_keeps_the_time_each_mirror_joined():
    joined = NOW - timedelta(days=3)

    payload = make_payload(ISSUER, {MIRRORS[0]: joined}, VERSION, NOW)

    since = json.loads(payload)["mirrors"][0]["since"]
    assert since == "2024-04-28T12:00:00Z"


def test_payload_without_mirrors_is_refused():
    with pytest.raises(EmptyListError):
        make_payload(ISSUER, [], VERSION, NOW)


def test_payload_with_more_than_100_mirrors_is_refused():
    mirrors = [f"https://m{i}.example.org" for i in range(101)]

    with pytest.raises(EnvelopeError, match="100"):
        make_payload(ISSUER, mirrors, VERSION, NOW)


def test_payload_with_100_mirrors_is_signed_within_the_size_cap():
    mirrors = [f"https://mirror-{i:03d}.example.org:8443" for i in range(100)]

    data = sign_envelope(
        make_payload(ISSUER, mirrors, VERSION, NOW), signing_key()
    )

    assert len(verify(data).mirrors) == 100


def test_next_version_is_unix_time_of_issue():
    assert next_version(None, NOW) == VERSION
    assert next_version(VERSION - 60, NOW) == VERSION


def test_next_version_grows_when_the_clock_does_not():
    assert next_version(VERSION, NOW) == VERSION + 1
    assert next_version(VERSION + 500, NOW) == VERSION + 501


# -- mirror URLs -------------------------------------------------------


@pytest.mark.parametrize(
    "url, canonical",
    [
        ("https://mirror.example.org", "https://mirror.example.org"),
        ("HTTPS://Mirror.Example.ORG/", "https://mirror.example.org"),
        ("https://mirror.example.org:443", "https://mirror.example.org"),
        ("https://mirror.example.org:8443", "https://mirror.example.org:8443"),
        ("https://8.8.8.8:8443", "https://8.8.8.8:8443"),
        ("https://[2606:4700:0::1111]", "https://[2606:4700::1111]"),
    ],
)
def test_mirror_url_is_made_canonical(url, canonical):
    assert mirror_url(url) == canonical


@pytest.mark.parametrize(
    "url",
    [
        "https://mirror.example.org/path",
        "https://mirror.example.org/?q=1",
        "https://mirror.example.org#top",
        "https://user@mirror.example.org",
        "https://mirror.example.org:0",
        "https://mirror.example.org:65536",
        "https://mirror.example.org:08443",
        "https://mirror.example.org.",
        "https://-mirror.example.org",
        "https://mirror_example.org",
        "https://",
        "mirror.example.org",
        "ftp://mirror.example.org",
        "http://mirror.example.org",
        "https://127.0.0.1",
        "https://10.0.0.8",
        "https://[::ffff:10.0.0.8]",
        "https://[fd00::1]",
        "https://localhost:8080",
        "https://2130706433",
        "https://[mirror.example.org]",
    ],
)
def test_malformed_or_private_mirror_url_is_refused(url):
    with pytest.raises(MirrorURLError):
        mirror_url(url)


def test_http_and_private_mirrors_need_allow_private():
    url = "http://127.0.0.1:8081"

    assert mirror_url(url, allow_private=True) == url
    with pytest.raises(MirrorURLError):
        mirror_url(url)


# -- round trip --------------------------------------------------------


def test_signed_list_round_trip():
    data = sign_envelope(
        make_payload(ISSUER, MIRRORS, VERSION, NOW), signing_key()
    )

    signed = verify(data)

    assert signed.urls == (
        "https://a.example.org:8443",
        "https://b.example.org",
    )
    assert signed.registry == ISSUER
    assert signed.version == VERSION
    assert signed.issued == NOW
    assert signed.expires == NOW + timedelta(hours=24)
    assert signed.envelope == data
    assert signed.keyid == keyid(signing_key())


def test_envelope_has_the_documented_shape():
    payload = make_payload(ISSUER, MIRRORS, VERSION, NOW)

    document = json.loads(sign_envelope(payload, signing_key()))

    assert document["payloadType"] == (
        "application/vnd.dockerhub-build-status.mirrors+json; version=1"
    )
    assert base64.b64decode(document["payload"]) == payload
    [signature] = document["signatures"]
    assert signature["alg"] == "ed25519"
    assert signature["keyid"] == keyid(signing_key())
    assert len(base64.b64decode(signature["sig"])) == 64


def test_golden_signed_list_is_reproduced_and_verifies():
    golden = (DATA / "signed_list.json").read_bytes()

    assert golden_signed_list() == golden
    assert verify(golden).version == VERSION


def test_pinned_keys_may_be_given_as_base64_text():
    data = signed_list()

    signed = verify_envelope(
        data, [public_key_text(signing_key())], ISSUER, None, NOW
    )

    assert signed.version == VERSION


def test_one_valid_signature_among_several_is_enough():
    payload = make_payload(ISSUER, MIRRORS, VERSION, NOW)

    data = sign_envelope(payload, [other_key(), signing_key()])

    assert verify(data).keyid == keyid(signing_key())


def test_newer_version_is_accepted():
    assert verify(signed_list(), highest=VERSION - 1).version == VERSION


# -- rejection rules, one input each ------------------------------------


def test_oversized_list_is_refused():
    data = signed_list()
    padded = data + b" " * (envelope.MAX_ENVELOPE_BYTES - len(data) + 1)

    with pytest.raises(OversizeError):
        verify(padded)


def test_list_of_exactly_64_kib_is_not_refused_for_size():
    data = signed_list()
    padded = data + b" " * (envelope.MAX_ENVELOPE_BYTES - len(data))

    assert verify(padded).version == VERSION


def test_list_that_is_not_json_is_refused():
    with pytest.raises(MalformedEnvelopeError):
        verify(b"<html>not a list</html>")


def test_wrong_payload_type_is_refused():
    payload = make_payload(ISSUER, MIRRORS, VERSION, NOW)
    data = hand_signed(payload, payload_type="application/json")

    with pytest.raises(PayloadTypeError):
        verify(data)


def test_tampered_payload_is_refused():
    document = json.loads(signed_list())
    payload = base64.b64decode(document["payload"])
    forged = payload.replace(b"a.example.org", b"x.example.org")
    document["payload"] = base64.b64encode(forged).decode()

    with pytest.raises(SignatureError, match="not valid"):
        verify(json.dumps(document).encode())


def test_reserialised_payload_no_longer_verifies():
    document = json.loads(signed_list())
    fields = json.loads(base64.b64decode(document["payload"]))
    reserialised = json.dumps(fields, indent=1).encode()
    document["payload"] = base64.b64encode(reserialised).decode()

    with pytest.raises(SignatureError):
        verify(json.dumps(document).encode())


def test_list_signed_by_an_unpinned_key_is_refused():
    payload = make_payload(ISSUER, MIRRORS, VERSION, NOW)

    with pytest.raises(SignatureError, match="no signature from a pinned"):
        verify(sign_envelope(payload, other_key()))


def test_signature_claiming_a_pinned_keyid_is_checked_against_that_key():
    payload = make_payload(ISSUER, MIRRORS, VERSION, NOW)
    document = json.loads(sign_envelope(payload, other_key()))
    document["signatures"][0]["keyid"] = keyid(signing_key())

    with pytest.raises(SignatureError, match="not valid"):
        verify(json.dumps(document).encode())


@pytest.mark.parametrize("claimed", [["a"], {"k": 1}, 5, None])
def test_keyid_of_the_wrong_type_is_a_refusal_not_a_crash(claimed):
    document = json.loads(signed_list())
    document["signatures"][0]["keyid"] = claimed

    with pytest.raises(SignatureError):
        verify(json.dumps(document).encode())


def test_list_without_signatures_is_refused():
    document = json.loads(signed_list())
    document["signatures"] = []

    with pytest.raises(SignatureError):
        verify(json.dumps(document).encode())


def test_signed_payload_that_is_not_json_is_refused():
    with pytest.raises(MalformedEnvelopeError):
        verify(hand_signed(b"mirrors: a, b"))


def test_list_from_another_registry_is_refused():
    payload = make_payload("https://evil.example.net", MIRRORS, VERSION, NOW)

    with pytest.raises(IssuerError):
        verify(sign_envelope(payload, signing_key()))


def test_rolled_back_version_is_refused():
    with pytest.raises(RollbackError):
        verify(signed_list(), highest=VERSION + 1)


def test_same_version_is_ignored_not_an_error():
    with pytest.raises(SameVersionError) as caught:
        verify(signed_list(), highest=VERSION)

    assert caught.value.ignorable
    assert not RollbackError("x").ignorable


def test_expired_list_is_refused():
    data = signed_list()

    with pytest.raises(ExpiredError):
        verify(data, now=NOW + timedelta(hours=24))


def test_list_one_second_before_expiry_is_accepted():
    data = signed_list()

    assert verify(data, now=NOW + timedelta(hours=24, seconds=-1))


def test_list_issued_more_than_10_minutes_ahead_is_refused():
    data = signed_list()

    with pytest.raises(FutureIssueError):
        verify(data, now=NOW - timedelta(minutes=10, seconds=1))


def test_list_issued_10_minutes_ahead_is_accepted():
    assert verify(signed_list(), now=NOW - timedelta(minutes=10))


def test_malformed_mirror_url_is_refused():
    payload = raw_payload(mirrors=[mirror_entry("https://m.example.org/x")])

    with pytest.raises(MirrorURLError):
        verify(hand_signed(payload))


def test_mirror_url_not_in_canonical_form_is_refused():
    payload = raw_payload(mirrors=[mirror_entry("https://M.example.org/")])

    with pytest.raises(MirrorURLError):
        verify(hand_signed(payload))


def test_duplicate_mirror_is_refused():
    entry = mirror_entry("https://m.example.org")

    with pytest.raises(MirrorURLError):
        verify(hand_signed(raw_payload(mirrors=[entry, entry])))


def test_http_mirror_is_refused_unless_private_is_allowed():
    data = hand_signed(
        raw_payload(mirrors=[mirror_entry("http://127.0.0.1:8081")])
    )

    with pytest.raises(MirrorURLError):
        verify(data)
    assert verify(data, allow_private=True).urls == ("http://127.0.0.1:8081",)


def test_empty_list_is_refused():
    with pytest.raises(EmptyListError):
        verify(hand_signed(raw_payload(mirrors=[])))


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"registry": "https://evil.example.net", "version": 1}, IssuerError),
        ({"version": 1, "expires": "2024-05-01T00:00:00Z"}, RollbackError),
        (
            {"version": VERSION, "expires": "2024-05-01T00:00:00Z"},
            SameVersionError,
        ),
        (
            {
                "expires": "2024-05-01T00:00:00Z",
                "issued": "2024-05-02T00:00:00Z",
            },
            ExpiredError,
        ),
        ({"issued": "2024-05-02T00:00:00Z", "mirrors": []}, FutureIssueError),
        (
            {"mirrors": [{"url": "ftp://m.example.org", "since": None}]},
            MirrorURLError,
        ),
    ],
)
def test_rules_apply_in_the_stated_order(changes, expected):
    changes.setdefault("version", VERSION + 1)
    data = hand_signed(raw_payload(**changes))

    with pytest.raises(expected):
        verify(data, highest=VERSION)


def test_signature_is_checked_before_the_payload_is_read():
    document = json.loads(hand_signed(raw_payload(registry="https://x.org")))
    document["signatures"][0]["sig"] = base64.b64encode(b"0" * 64).decode()

    with pytest.raises(SignatureError):
        verify(json.dumps(document).encode())


# -- pinned keys -------------------------------------------------------


def test_trusted_key_text_is_parsed():
    text = public_key_text(signing_key())

    assert keyid(load_trusted_key(text)) == keyid(signing_key())


@pytest.mark.parametrize("text", ["not base64!", "AAAA", "", "QUJD" * 20])
def test_bad_trusted_key_text_is_refused_clearly(text):
    with pytest.raises(TrustedKeyError, match="trusted key"):
        load_trusted_key(text)


def test_verifying_without_pinned_keys_is_refused():
    with pytest.raises(TrustedKeyError):
        verify_envelope(signed_list(), [], ISSUER, None, NOW)


# -- helpers -----------------------------------------------------------


def signing_key():
    return load_key(DATA / "signing_key.pem")


def other_key():
    return load_key(DATA / "other_key.pem")


def signed_list():
    payload = make_payload(ISSUER, MIRRORS, VERSION, NOW)
    return sign_envelope(payload, signing_key())


def golden_signed_list():
    return signed_list()


def verify(data, highest=None, now=NOW, allow_private=False):
    return verify_envelope(
        data,
        [signing_key().public_key()],
        ISSUER,
        highest,
        now,
        allow_private=allow_private,
    )


def mirror_entry(url):
    return {"url": url, "since": "2024-05-01T12:00:00Z"}


def raw_payload(**changes):
    """A payload built by hand, to send what make_payload never makes."""
    fields = {
        "registry": ISSUER,
        "version": VERSION,
        "issued": "2024-05-01T12:00:00Z",
        "expires": "2024-05-02T12:00:00Z",
        "mirrors": [mirror_entry("https://m.example.org")],
    }
    fields.update(changes)
    return json.dumps(fields, separators=(",", ":")).encode()


def hand_signed(payload, payload_type=envelope.PAYLOAD_TYPE):
    key = signing_key()
    signature = key.sign(pae(payload_type, payload))
    return json.dumps(
        {
            "payloadType": payload_type,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [
                {
                    "keyid": keyid(key),
                    "alg": "ed25519",
                    "sig": base64.b64encode(signature).decode(),
                }
            ],
        }
    ).encode()


if __name__ == "__main__":
    # Regenerate the golden signed list after a deliberate format change.
    (DATA / "signed_list.json").write_bytes(golden_signed_list())
