"""The dockerhub-registry command: keygen, sign, verify, help, bad input."""

import base64
import json
import os
import re
import stat
import subprocess
import sys

import pytest

from registry.cli import COMMANDS, main
from registry.keys import generate_key, key_id, load_key, public_key_text

REGISTRY = "https://registry.example.org"
MIRRORS = ["https://b.example.org", "https://a.example.org:8443"]


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "registry.pem"
    generate_key(path)
    return path


@pytest.fixture
def public_key(key_file):
    return public_key_text(load_key(key_file))


@pytest.fixture
def signed(tmp_path, key_file):
    out = tmp_path / "mirrors.json"
    assert main(sign_args(key_file, out)) == 0
    return out


# -- keygen ------------------------------------------------------------


def test_keygen_prints_the_public_key_and_its_id(tmp_path, capsys):
    path = tmp_path / "registry.pem"

    assert main(["keygen", "--key", str(path)]) == 0

    lines = capsys.readouterr().out.splitlines()
    key = load_key(path)
    assert lines == [f"public_key={public_key_text(key)}",
                     f"keyid={key_id(key)}"]
    assert len(base64.b64decode(lines[0].split("=", 1)[1])) == 32
    assert re.fullmatch(r"keyid=[0-9a-f]{16}", lines[1])


def test_keygen_writes_a_private_pem_file(tmp_path, capsys):
    path = tmp_path / "registry.pem"

    assert main(["keygen", "--key", str(path)]) == 0

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_keygen_refuses_to_overwrite_a_key(key_file, capsys):
    before = key_file.read_bytes()

    assert main(["keygen", "--key", str(key_file)]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "refusing to overwrite" in captured.err
    assert len(captured.err.splitlines()) == 1
    assert key_file.read_bytes() == before


def test_keygen_reads_the_key_path_from_the_environment(
        tmp_path, monkeypatch, capsys):
    path = tmp_path / "from-env.pem"
    monkeypatch.setenv("REGISTRY_KEY", str(path))

    assert main(["keygen"]) == 0

    assert path.exists()
    assert len(capsys.readouterr().out.splitlines()) == 2


# -- sign and verify ---------------------------------------------------


def test_sign_then_verify_prints_the_mirrors(signed, public_key, capsys):
    code = main(["verify", "--trusted-key", public_key,
                 "--registry-url", REGISTRY, str(signed)])

    assert code == 0
    assert capsys.readouterr().out.splitlines() == sorted(MIRRORS)


def test_sign_writes_to_stdout_without_out(key_file, public_key, tmp_path,
                                           capsysbinary):
    assert main(sign_args(key_file)) == 0
    data = capsysbinary.readouterr().out
    copy = tmp_path / "copy.json"
    copy.write_bytes(data)

    assert json.loads(data)["payloadType"].startswith("application/vnd.")
    assert main(["verify", "--trusted-key", public_key, "--registry-url",
                 REGISTRY, str(copy)]) == 0


def test_sign_continues_the_version_of_the_file_it_replaces(
        key_file, signed):
    first = payload_of(signed.read_bytes())["version"]

    assert main(sign_args(key_file, signed)) == 0

    assert payload_of(signed.read_bytes())["version"] == first + 1


def test_sign_takes_mirrors_from_the_environment(
        key_file, tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_MIRRORS", ",".join(MIRRORS))
    monkeypatch.setenv("REGISTRY_URL", REGISTRY)
    out = tmp_path / "env.json"

    assert main(["sign", "--key", str(key_file), "--out", str(out)]) == 0

    urls = [m["url"] for m in payload_of(out.read_bytes())["mirrors"]]
    assert urls == sorted(MIRRORS)


def test_verify_refuses_a_tampered_list(signed, public_key, capsys):
    signed.write_bytes(tamper(signed.read_bytes()))

    code = main(["verify", "--trusted-key", public_key,
                 "--registry-url", REGISTRY, str(signed)])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "signature" in captured.err


@pytest.mark.parametrize(("change", "reason"), [
    (["--registry-url", "https://other.example.org"], "issued by"),
    (["--trusted-key", base64.b64encode(bytes(32)).decode()],
     "no signature from a pinned key"),
])
def test_verify_says_why_it_refuses(signed, public_key, change, reason,
                                    capsys):
    args = {"--trusted-key": public_key, "--registry-url": REGISTRY}
    args[change[0]] = change[1]

    code = main(["verify", *flatten(args), str(signed)])

    assert code == 1
    assert reason in capsys.readouterr().err


# -- bad input ---------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--registry-url", REGISTRY, "--mirror", MIRRORS[0]],
    ["--key", "KEYFILE", "--registry-url", REGISTRY],
    ["--key", "KEYFILE", "--mirror", MIRRORS[0]],
    ["--key", "KEYFILE", "--registry-url", REGISTRY,
     "--mirror", "http://10.0.0.1"],
    ["--key", "KEYFILE", "--registry-url", REGISTRY,
     "--mirror", "https://a.example.org/path"],
    ["--key", "KEYFILE", "--registry-url", "https://r.example.org/path",
     "--mirror", MIRRORS[0]],
])
def test_bad_sign_input_exits_2_and_writes_nothing(
        args, key_file, tmp_path, capsys, monkeypatch):
    for name in ("REGISTRY_MIRRORS", "REGISTRY_URL", "REGISTRY_KEY"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "out.json"
    args = [str(key_file) if arg == "KEYFILE" else arg for arg in args]

    code = run_exit_code(["sign", *args, "--out", str(out)])

    assert code == 2
    assert not out.exists()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_sign_with_a_missing_key_file_exits_2(tmp_path, capsys):
    code = main(["sign", "--key", str(tmp_path / "none.pem"),
                 "--registry-url", REGISTRY, "--mirror", MIRRORS[0]])

    assert code == 2
    assert "cannot read key" in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["verify", "--trusted-key", "not base64!", "--registry-url",
     REGISTRY, "FILE"],
    ["verify", "--trusted-key", "KEY", "--registry-url", REGISTRY,
     "missing.json"],
    ["verify", "--trusted-key", "KEY", "--registry-url", REGISTRY],
    ["verify", "--registry-url", REGISTRY, "FILE"],
    ["serve", "--public-url", REGISTRY],
    ["serve", "--key", "KEYFILE", "--public-url", "ftp://x.example.org"],
    ["serve", "--key", "KEYFILE", "--public-url", REGISTRY,
     "--probation", "0"],
    ["serve", "--key", "KEYFILE", "--public-url", REGISTRY,
     "--health-interval", "-1"],
    ["frobnicate"],
])
def test_bad_input_exits_2_with_one_line(args, signed, public_key,
                                         key_file, capsys):
    names = {"FILE": str(signed), "KEY": public_key,
             "KEYFILE": str(key_file), "missing.json":
             str(signed.parent / "missing.json")}
    args = [names.get(arg, arg) for arg in args]

    assert run_exit_code(args) == 2

    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err


def test_a_bad_environment_value_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("REGISTRY_PROBATION", "none")

    assert run_exit_code(["serve", "--help"]) == 2

    assert "REGISTRY_PROBATION" in capsys.readouterr().err


# -- help --------------------------------------------------------------


ENVIRONMENT = {
    "keygen": ["REGISTRY_KEY"],
    "sign": ["REGISTRY_KEY", "REGISTRY_URL", "REGISTRY_MIRRORS",
             "REGISTRY_SIGNED_LIST", "REGISTRY_ALLOW_PRIVATE"],
    "verify": ["REGISTRY_TRUSTED_KEYS", "REGISTRY_URL",
               "REGISTRY_ALLOW_PRIVATE"],
    "serve": ["REGISTRY_KEY", "REGISTRY_PUBLIC_URL", "REGISTRY_HOST",
              "PORT", "REGISTRY_STATE_DIR", "REGISTRY_MIRRORS",
              "REGISTRY_HEALTH_INTERVAL", "REGISTRY_PROBATION",
              "REGISTRY_ALLOW_PRIVATE"],
}


@pytest.mark.parametrize("command", sorted(ENVIRONMENT))
def test_help_lists_every_environment_variable(command):
    result = subprocess.run(
        [sys.executable, "-m", "registry", command, "--help"],
        capture_output=True, text=True, check=True,
        env={k: v for k, v in os.environ.items()
             if not k.startswith("REGISTRY_")})

    flat = " ".join(result.stdout.split())
    for name in ENVIRONMENT[command]:
        assert f"env {name}" in flat


def test_every_command_is_in_the_help():
    result = subprocess.run(
        [sys.executable, "-m", "registry", "--help"],
        capture_output=True, text=True, check=True)

    for name in COMMANDS:
        assert f"  {name} " in result.stdout


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "usage: dockerhub-registry" in capsys.readouterr().err


# -- helpers -----------------------------------------------------------


def sign_args(key_file, out=None):
    args = ["sign", "--key", str(key_file), "--registry-url", REGISTRY]
    for url in MIRRORS:
        args += ["--mirror", url]
    return args + (["--out", str(out)] if out else [])


def run_exit_code(args):
    try:
        return main(args)
    except SystemExit as exit:
        return exit.code


def payload_of(data):
    return json.loads(base64.b64decode(json.loads(data)["payload"]))


def tamper(data):
    envelope = json.loads(data)
    payload = payload_of(data)
    payload["mirrors"].append({"url": "https://evil.example.org",
                               "since": payload["issued"]})
    envelope["payload"] = base64.b64encode(
        json.dumps(payload).encode()).decode()
    return json.dumps(envelope).encode()


def flatten(options):
    return [part for pair in options.items() for part in pair]
