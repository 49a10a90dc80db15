"""The client bundle: its inputs, its files, and how a mirror serves it."""

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import webtest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client import CLIENT_DIR, read_file
from client.bundle import BundleError, config_json, write_bundle
from mirror.app import make_app
from mirror.badge import STATES
from mirror.config import Config
from registry import cli as registry_cli
from registry import envelope
from registry.keys import public_key_text

REGISTRY = "https://registry.example.org"
MIRROR = "https://mirror.example.org"
DEAD = "http://127.0.0.1:9"
SVG_NS = "{http://www.w3.org/2000/svg}"



@pytest.fixture(scope="module")
def key_text():
    return public_key_text(Ed25519PrivateKey.generate())


# Writing the bundle


def test_bundle_holds_the_shipped_files_and_the_configuration(tmp_path,
                                                              key_text):
    out = tmp_path / "site"

    written = write_bundle(out, [key_text], REGISTRY, [MIRROR])

    assert sorted(path.name for path in written) == [
        "status-config.json", "status.js", "status.svg"]
    assert (out / "status.svg").read_bytes() == read_file("status.svg")
    assert (out / "status.js").read_bytes() == read_file("status.js")
    assert json.loads((out / "status-config.json").read_text()) == {
        "trusted_keys": [key_text],
        "registry": REGISTRY,
        "bootstrap": [MIRROR],
        "allow_private": False,
    }


def test_urls_are_made_canonical_and_bootstrap_deduplicated(key_text):
    config = json.loads(config_json(
        [f"  {key_text}\n", key_text], "HTTPS://Registry.Example.org:443/",
        ["https://B.example.org/", "https://b.example.org",
         "http://127.0.0.1:8080", "https://[::1]:8443"],
        allow_private=True))

    assert config["trusted_keys"] == [key_text]
    assert config["registry"] == REGISTRY
    assert config["bootstrap"] == ["https://b.example.org",
                                   "http://127.0.0.1:8080",
                                   "https://[::1]:8443"]
    assert config["allow_private"] is True


def test_mirror_without_a_registry_has_a_bootstrap_only_config():
    config = json.loads(config_json([], None, [MIRROR]))

    assert (config["trusted_keys"], config["registry"]) == ([], None)


@pytest.mark.parametrize(("keys", "registry", "bootstrap", "message"), [
    (["not base64!"], REGISTRY, [MIRROR], "not base64"),
    ([base64.b64encode(b"x" * 31).decode()], REGISTRY, [MIRROR],
     "31 bytes"),
    ("KEY", REGISTRY, [MIRROR], "a list"),
    ([None], REGISTRY, [MIRROR], "not base64"),
    (["KEY"], None, [MIRROR], "both a registry URL"),
    ([], REGISTRY, [MIRROR], "both a registry URL"),
    (["KEY"], "https://registry.example.org/v1", [MIRROR], "registry"),
    (["KEY"], "ftp://registry.example.org", [MIRROR], "registry"),
    (["KEY"], REGISTRY, [], "at least one bootstrap"),
    (["KEY"], REGISTRY, MIRROR, "a list of URLs"),
    (["KEY"], REGISTRY, ["https://mirror.example.org/path"],
     "bootstrap mirror"),
    (["KEY"], REGISTRY, ["https://user@mirror.example.org"],
     "bootstrap mirror"),
    (["KEY"], REGISTRY, ["https://mirror.example.org?x=1"],
     "bootstrap mirror"),
    (["KEY"], REGISTRY, ["javascript:alert(1)"], "bootstrap mirror"),
    (["KEY"], REGISTRY, ["https://0.0.0.0"], "bootstrap mirror"),
    (["KEY"], REGISTRY, [42], "bootstrap mirror"),
    (["KEY"], REGISTRY,
     [f"https://m{number}.example.org" for number in range(101)],
     "at most 100"),
], ids=["key-not-base64", "key-short", "keys-one-string", "key-none",
        "keys-without-registry", "registry-without-keys", "registry-path",
        "registry-ftp", "no-bootstrap", "bootstrap-one-string",
        "bootstrap-path", "bootstrap-user", "bootstrap-query",
        "bootstrap-javascript", "bootstrap-unspecified",
        "bootstrap-number", "bootstrap-over-100"])
def test_bad_inputs_are_refused_before_anything_is_written(
        tmp_path, key_text, keys, registry, bootstrap, message):
    keys = [key_text if item == "KEY" else item for item in keys] if (
        isinstance(keys, list)) else keys
    out = tmp_path / "site"

    with pytest.raises(BundleError, match=message):
        write_bundle(out, keys, registry, bootstrap)

    assert not out.exists()


# The shipped files


def test_the_script_paints_the_server_badges_messages_and_colours():
    script = read_file("status.js").decode()
    table = script[script.index("const STATES = {"):]
    table = table[:table.index("};")]
    pairs = re.findall(r'"([a-z ]+)": \["([a-z ]+)", "(#[0-9a-f]+)"\]',
                       table)

    assert {state: (message, color) for state, message, color in pairs} == (
        STATES)


def test_the_script_applies_the_envelope_limits_of_the_python_verifier():
    script = read_file("status.js").decode()

    assert envelope.PAYLOAD_TYPE in re.sub(r'"\s*\+?\s*"', "", script)
    assert "MAX_ENVELOPE_BYTES = 64 * 1024;" in script
    assert f"MAX_MIRRORS = {envelope.MAX_MIRRORS};" in script
    assert "MAX_CLOCK_AHEAD_MS = 10 * 60 * 1000;" in script


def test_the_script_never_turns_text_into_markup_or_code():
    script = read_file("status.js").decode()

    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML",
                  "document.write", "eval(", "new Function",
                  "setTimeout(\"", "createContextualFragment"):
        assert risky not in script
    set_attributes = re.findall(r'setAttribute\(\s*"?([\w`$-]+)', script)
    assert not [name for name in set_attributes
                if name.startswith(("on", "href")) or "href" in name]


def test_the_svg_is_a_placeholder_that_loads_only_its_script():
    svg = ET.fromstring(read_file("status.svg"))
    scripts = svg.findall(f"{SVG_NS}script")
    references = [value for element in svg.iter()
                  for name, value in element.attrib.items()
                  if name.endswith("href")]

    assert svg.get("data-state") == "pending"
    assert [script.get("href") for script in scripts] == ["status.js"]
    assert references == ["status.js"]
    assert not (scripts[0].text or "").strip()


def test_the_package_ships_the_three_client_files():
    names = {path.name for path in CLIENT_DIR.iterdir()}

    assert {"status.svg", "status.js", "__init__.py", "bundle.py",
            "routes.py"} <= names


# Served by a mirror


def mirror_app(**options):
    wsgi = make_app(Config(upstream=DEAD, **options))
    return webtest.TestApp(wsgi), wsgi


@pytest.fixture
def served():
    app, wsgi = mirror_app()
    yield app
    wsgi.config["mirror"].close()


@pytest.mark.parametrize(("path", "content_type"), [
    ("/client/status.svg", "image/svg+xml"),
    ("/client/status.js", "text/javascript"),
    ("/client/status-config.json", "application/json"),
])
def test_mirror_serves_its_client_with_type_cors_and_short_cache(
        served, path, content_type):
    answer = served.get(path)

    assert answer.content_type == content_type
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    cache = re.fullmatch(r"(public|private), max-age=(\d+)(, s-maxage=\2)?",
                         answer.headers["Cache-Control"])
    assert cache and 0 < int(cache[2]) <= 3600
    served.get(path, headers={"If-None-Match": answer.headers["ETag"]},
               status=304)


def test_mirror_serves_the_shipped_svg_and_script(served):
    assert served.get("/client/status.svg").body == read_file("status.svg")
    assert served.get("/client/status.js").body == read_file("status.js")
    csp = served.get("/client/status.svg").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp


def test_mirror_without_public_url_bootstraps_from_the_request_origin(
        served):
    config = served.get("/client/status-config.json",
                        headers={"Host": "Mirror.Example.org:8080"}).json

    assert config == {"trusted_keys": [], "registry": None,
                      "bootstrap": ["http://mirror.example.org:8080"],
                      "allow_private": False}


def test_a_config_named_from_the_request_stays_out_of_shared_caches(
        served):
    answer = served.get("/client/status-config.json",
                        headers={"X-Forwarded-Host": "evil.example.org"})

    assert answer.json["bootstrap"] == ["http://evil.example.org"]
    assert answer.headers["Cache-Control"].startswith("private,")
    assert "X-Forwarded-Host" in answer.headers["Vary"]


def test_mirror_refuses_to_name_itself_after_a_bad_host(served):
    answer = served.get("/client/status-config.json",
                        headers={"Host": "bad host<script>"}, status=400)

    assert answer.json["request"] == "error"
    assert "--public-url" in answer.json["description"]


def test_mirror_config_pins_its_keys_registry_and_public_url(key_text):
    app, wsgi = mirror_app(registry=REGISTRY + "/", trusted_key=[key_text],
                           public_url="https://Me.example.org/")
    try:
        answer = app.get("/client/status-config.json")
        config, cache = answer.json, answer.headers["Cache-Control"]
    finally:
        wsgi.config["mirror"].close()

    assert config == {"trusted_keys": [key_text], "registry": REGISTRY,
                      "bootstrap": ["https://me.example.org"],
                      "allow_private": False}
    assert cache.startswith("public,")


def test_mirror_config_lets_lists_name_private_mirrors_when_it_does(
        key_text):
    app, wsgi = mirror_app(registry="http://127.0.0.1:9000",
                           trusted_key=[key_text], allow_private=True)
    try:
        config = app.get("/client/status-config.json").json
    finally:
        wsgi.config["mirror"].close()

    assert config["registry"] == "http://127.0.0.1:9000"
    assert config["allow_private"] is True


def test_the_page_links_the_mirrors_client(served):
    page = served.get("/?organization=exampleorg&repository=webapp")

    link = page.html.find(id="client-link")
    assert link["href"] == (
        "/client/status.svg?organization=exampleorg&repository=webapp")
    served.get(link["href"])


# dockerhub-registry client-bundle


def bundle_args(out, *extra, key_text=None, bootstrap=(MIRROR,)):
    args = ["client-bundle", "--registry-url", REGISTRY, "--out", str(out)]
    if key_text:
        args += ["--trusted-key", key_text]
    for url in bootstrap:
        args += ["--bootstrap", url]
    return args + list(extra)


def test_client_bundle_writes_the_site_and_names_its_files(tmp_path,
                                                           key_text,
                                                           capsys):
    out = tmp_path / "site"

    status = registry_cli.main(bundle_args(
        out, key_text=key_text, bootstrap=[MIRROR, "https://b.example.org"]))

    assert status == 0
    printed = capsys.readouterr().out.split()
    assert sorted(Path(name).name for name in printed) == [
        "status-config.json", "status.js", "status.svg"]
    config = json.loads((out / "status-config.json").read_text())
    assert config["bootstrap"] == [MIRROR, "https://b.example.org"]
    assert config["trusted_keys"] == [key_text]


def test_client_bundle_takes_its_options_from_the_environment(
        tmp_path, key_text, monkeypatch):
    out = tmp_path / "site"
    monkeypatch.setenv("REGISTRY_TRUSTED_KEYS", key_text)
    monkeypatch.setenv("REGISTRY_URL", REGISTRY)
    monkeypatch.setenv("CLIENT_BOOTSTRAP", f"{MIRROR},http://10.0.0.5:8080")
    monkeypatch.setenv("CLIENT_BUNDLE_DIR", str(out))
    monkeypatch.setenv("REGISTRY_ALLOW_PRIVATE", "1")

    assert registry_cli.main(["client-bundle"]) == 0

    config = json.loads((out / "status-config.json").read_text())
    assert config["bootstrap"] == [MIRROR, "http://10.0.0.5:8080"]
    assert config["allow_private"] is True


@pytest.mark.parametrize(("extra", "bootstrap", "message"), [
    ([], [MIRROR], "--trusted-key is required"),
    (["--trusted-key", "bm90IGEga2V5"], [MIRROR], "--trusted-key: "),
    (["--trusted-key", "KEY"], [], "--bootstrap is required"),
    (["--trusted-key", "KEY"], ["https://m.example.org/path"],
     "--bootstrap: "),
    (["--trusted-key", "KEY", "--registry-url", "ftp://r.example.org"],
     [MIRROR], "--registry-url"),
], ids=["no-key", "bad-key", "no-bootstrap", "bad-bootstrap",
        "bad-registry"])
def test_client_bundle_refuses_bad_input_with_one_line(
        tmp_path, key_text, capsys, extra, bootstrap, message):
    out = tmp_path / "site"
    extra = [key_text if item == "KEY" else item for item in extra]

    with pytest.raises(SystemExit) as exit_:
        registry_cli.main(bundle_args(out, *extra, bootstrap=bootstrap))

    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not out.exists()


def test_client_bundle_says_when_it_cannot_write(tmp_path, key_text,
                                                 capsys):
    blocker = tmp_path / "file"
    blocker.write_text("in the way")

    status = registry_cli.main(bundle_args(blocker / "site",
                                           key_text=key_text))

    assert status == 2
    assert "cannot write" in capsys.readouterr().err
