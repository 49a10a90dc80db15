"""The ``dockerhub-registry`` command and its subcommands.

Each subcommand is one entry of :data:`COMMANDS`: its config class (from
:mod:`registry.config`, which builds the flags, the environment
variables and ``--help``), the function that runs it, and a one-line
summary. Adding a subcommand is adding an entry.

Exit status: 0 done, 1 a signed list was refused (``verify``), 2 bad
input (one line on stderr, nothing written).
"""

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from client.command import SUMMARY, BundleConfig, client_bundle
from mirror.server import Server
from registry import config as settings
from registry import state
from registry.envelope import (
    EnvelopeError,
    load_trusted_key,
    make_payload,
    next_version,
    sign_envelope,
    verify_envelope,
)
from registry.keys import (
    KeyFileError,
    generate_key,
    key_id,
    load_key,
    public_key_text,
)
from registry.service import (
    Registry,
    RegistryError,
    envelope_version,
    make_registry_app,
)

PROG = "dockerhub-registry"
log = logging.getLogger("registry")


class UsageError(Exception):
    """Bad input found while running a command; exit status 2."""


class Command(NamedTuple):
    config_class: type
    run: object
    summary: str


def keygen(config):
    """Write a new key; print the public key and its id."""
    try:
        key = generate_key(config.key)
    except KeyFileError as error:
        raise UsageError(error.reason) from None
    print(f"public_key={public_key_text(key)}")
    print(f"keyid={key_id(key)}")
    return 0


def sign(config):
    """Sign the mirrors given; write the list to --out or stdout."""
    key = read_key(config.key)
    now = datetime.now(UTC)
    version = next_version(previous_version(config.out), now)
    try:
        payload = make_payload(config.registry_url, config.mirror, version,
                               now, allow_private=config.allow_private)
        envelope = sign_envelope(payload, key)
    except EnvelopeError as error:
        raise UsageError(error.reason) from None
    if config.out is None:
        sys.stdout.buffer.write(envelope)
        if sys.stdout.isatty():
            sys.stdout.buffer.write(b"\n")
        sys.stdout.flush()
        return 0
    try:
        state.write_atomic(config.out, envelope)
    except OSError as error:
        raise UsageError(f"cannot write {config.out}: {error}") from None
    return 0


def previous_version(path):
    """The version of the list already in ``path``, so a new one is
    newer; None when there is none."""
    if path is None:
        return None
    try:
        return envelope_version(Path(path).read_bytes())
    except OSError:
        return None


def verify(config):
    """Print the mirrors of a valid list; exit 1 with the reason if not."""
    keys = trusted_keys(config.trusted_key)
    data = read_list(config.file)
    try:
        signed = verify_envelope(data, keys, config.registry_url, None,
                                 datetime.now(UTC), config.allow_private)
    except EnvelopeError as error:
        print(f"{PROG} verify: refused: {error.reason}", file=sys.stderr)
        return 1
    for url in signed.urls:
        print(url)
    return 0


def trusted_keys(texts):
    try:
        return [load_trusted_key(text) for text in texts]
    except EnvelopeError as error:
        raise UsageError(f"--trusted-key: {error.reason}") from None


def read_list(name):
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {name}: {error.strerror}") from None


def serve(config):
    """Run the registry service until SIGTERM or Ctrl-C."""
    configure_logging()
    try:
        registry = Registry(config)
    except RegistryError as error:
        raise UsageError(error.reason) from None
    app = make_registry_app(config, registry)
    try:
        server = Server(app, config.host, config.port, 4)
    except OSError as error:
        raise UsageError(f"cannot listen on {config.host}:{config.port}: "
                         f"{error.strerror}") from None
    server.stop_on_signals()
    log.info("registry %s listening on http://%s:%s, key %s",
             config.public_url, config.host, server.port,
             key_id(registry.key))
    registry.start()
    try:
        server.serve()
    finally:
        registry.stop()
    log.info("registry stopped")
    return 0


def read_key(path):
    try:
        return load_key(path)
    except KeyFileError as error:
        raise UsageError(error.reason) from None


def configure_logging():
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


COMMANDS = {
    "keygen": Command(settings.KeygenConfig, keygen,
                      "write a new signing key; print its public key"),
    "sign": Command(settings.SignConfig, sign,
                    "sign a list of mirrors, for a static file"),
    "verify": Command(settings.VerifyConfig, verify,
                      "check a signed list; print its mirrors"),
    "serve": Command(settings.RegistryConfig, serve,
                     "run the registry service"),
    "client-bundle": Command(BundleConfig, client_bundle, SUMMARY),
}


def usage():
    width = max(len(name) for name in COMMANDS)
    lines = [f"usage: {PROG} COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {command.summary}"
              for name, command in COMMANDS.items()]
    lines += ["", f"'{PROG} COMMAND --help' lists every option of a "
              "command with its environment variable."]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    name, *rest = argv
    command = COMMANDS.get(name)
    prog = f"{PROG} {name}"
    if command is None:
        print(f"{PROG}: unknown command {name!r}; try '{PROG} --help'",
              file=sys.stderr)
        return 2
    config = settings.parse(rest, command.config_class, prog=prog,
                            description=command.summary)
    try:
        return command.run(config)
    except UsageError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
