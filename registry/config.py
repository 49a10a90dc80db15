"""The registry's settings, one dataclass per command.

Fields are declared with :func:`mirror.config.option`, so each names its
flag, its environment variable and its help text in one place, and
``--help`` lists the variable beside the flag. :func:`parse` reads a
command line (falling back to the environment), checks what the flags
alone cannot (required options, URLs that need ``--allow-private``) and
turns every mistake into one line on stderr and exit status 2.
"""

import argparse
import os
from dataclasses import dataclass, field, fields
from typing import ClassVar

from mirror.config import (
    add_argument,
    flag_on,
    http_url,
    option,
    port_number,
    positive_float,
    positive_int,
)
from registry.envelope import EnvelopeError, mirror_url


class ConfigError(ValueError):
    """An option value that cannot work; the message names the option."""


def positional(metavar, help):
    """A positional argument of a command (it has no variable)."""
    return field(default=None, metadata={"metavar": metavar, "help": help})


def key_file():
    return option("--key", "REGISTRY_KEY", None, str,
                  "PEM file holding the registry's Ed25519 private key")


def registry_url(env="REGISTRY_URL", help="the registry URL the list names"):
    return option("--registry-url", env, None, http_url, help)


def mirror_urls(help):
    return option("--mirror", "REGISTRY_MIRRORS", [], http_url,
                  f"{help} (repeatable; the variable takes a "
                  "comma-separated list)", repeat=True)


def allow_private():
    return option("--allow-private", "REGISTRY_ALLOW_PRIVATE", False,
                  flag_on, "allow plain http and loopback or private "
                  "addresses (local networks and tests only)")


@dataclass
class KeygenConfig:
    """``dockerhub-registry keygen``: write a new signing key."""

    required: ClassVar = ("key",)

    key: str | None = key_file()


@dataclass
class SignConfig:
    """``dockerhub-registry sign``: sign a list of mirrors once."""

    required: ClassVar = ("key", "registry_url", "mirror")

    key: str | None = key_file()
    registry_url: str | None = registry_url()
    mirror: list = mirror_urls("a mirror to list")
    out: str | None = option(
        "--out", "REGISTRY_SIGNED_LIST", None, str,
        "write the signed list to this file (atomically) instead of "
        "stdout; its version is continued")
    allow_private: bool = allow_private()

    def check(self):
        self.registry_url = canonical(self.registry_url, "--registry-url",
                                      self.allow_private)
        self.mirror = [canonical(url, "--mirror", self.allow_private)
                       for url in self.mirror]


@dataclass
class VerifyConfig:
    """``dockerhub-registry verify``: check a signed list file."""

    required: ClassVar = ("trusted_key", "registry_url", "file")

    trusted_key: list = option(
        "--trusted-key", "REGISTRY_TRUSTED_KEYS", [], str,
        "pinned registry public key, base64 (repeatable; the variable "
        "takes a comma-separated list)", repeat=True)
    registry_url: str | None = registry_url(
        help="the registry URL the list must name")
    allow_private: bool = allow_private()
    file: str | None = positional(
        "FILE", "the signed list to verify ('-' reads stdin)")

    def check(self):
        self.registry_url = canonical(self.registry_url, "--registry-url",
                                      self.allow_private)


@dataclass
class RegistryConfig:
    """``dockerhub-registry serve``: the registry service."""

    required: ClassVar = ("key", "public_url")

    key: str | None = key_file()
    public_url: str | None = option(
        "--public-url", "REGISTRY_PUBLIC_URL", None, http_url,
        "this registry's public address; the signed list names it")
    host: str = option("--host", "REGISTRY_HOST", "0.0.0.0", str,
                       "address to listen on")
    port: int = option("--port", "PORT", 8080, port_number,
                       "port to listen on")
    state_dir: str | None = option(
        "--state-dir", "REGISTRY_STATE_DIR", None, str,
        "directory for members, the version counter and the last signed "
        "list (without it nothing survives a restart)")
    mirror: list = mirror_urls("a mirror listed from the start")
    health_interval: float = option(
        "--health-interval", "REGISTRY_HEALTH_INTERVAL", 60.0,
        positive_float, "seconds between health checks of each mirror")
    probation: int = option(
        "--probation", "REGISTRY_PROBATION", 3, positive_int,
        "healthy checks before a registered mirror is listed")
    allow_private: bool = allow_private()

    def check(self):
        self.public_url = canonical(self.public_url, "--public-url",
                                    self.allow_private)
        self.mirror = [canonical(url, "--mirror", self.allow_private)
                       for url in self.mirror]


def canonical(url, flag, allow_private):
    """``url`` in the canonical form the signed list uses."""
    try:
        return mirror_url(url, allow_private)
    except EnvelopeError as error:
        hint = "" if allow_private else " (--allow-private permits http " \
            "and loopback for local networks)"
        raise ConfigError(f"{flag}: {error.reason}{hint}") from None


class Parser(argparse.ArgumentParser):
    """argparse, with every error on one line and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message}; see {self.prog} --help\n")


def parse(argv, config_class, prog=None, environ=None, description=None):
    """Read a ``config_class`` from ``argv``, falling back to ``environ``.

    Exits with status 2 and one line on stderr for any bad input.
    """
    environ = os.environ if environ is None else environ
    parser = make_parser(prog, description)
    defaults = {}
    for spec in fields(config_class):
        if "metavar" in spec.metadata:
            parser.add_argument(spec.name, nargs="?",
                                metavar=spec.metadata["metavar"],
                                help=spec.metadata["help"])
        else:
            defaults[spec.name] = add_argument(parser, spec, environ)

    values = vars(parser.parse_args(argv))
    for name, value in values.items():
        if value is None and name in defaults:
            values[name] = defaults[name]
    missing(parser, config_class, values)
    config = config_class(**values)
    try:
        if hasattr(config, "check"):
            config.check()
    except ConfigError as error:
        parser.error(str(error))
    return config


def make_parser(prog, description):
    return Parser(prog=prog, description=description,
                  epilog="Every option can also be set through the "
                  "environment variable named in its help.")


def missing(parser, config_class, values):
    """Exit with a clear message when a required option is not given."""
    for spec in fields(config_class):
        if spec.name not in config_class.required:
            continue
        if values.get(spec.name) not in (None, []):
            continue
        meta = spec.metadata
        if meta.get("flag") is None:
            parser.error(f"the {meta['metavar']} argument is required")
        parser.error(f"{meta['flag']} is required (or set {meta['env']})")
