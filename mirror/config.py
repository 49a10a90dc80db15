"""The mirror's settings: one typed place, read from flags or environment.

Each field names its command-line flag, its environment variable and its
help text; :func:`parse` builds the command line from them, so an option
added here is in ``--help`` and the environment at once.
"""

import argparse
import os
import re
from dataclasses import MISSING, dataclass, field, fields


def positive_float(text):
    value = float(text)
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"{text!r} is not a positive number")
    return value


def positive_int(text):
    value = int(text)
    if value < 1:
        raise ValueError(f"{text!r} is not a positive integer")
    return value


def port_number(text):
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(f"{text!r} is not a port number")
    return value


def http_url(text):
    text = text.strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"{text!r} is not an http(s) URL")
    return text


def flag_on(text):
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not on or off (use true or false)")


def path_secret(text):
    if not re.fullmatch(r"[A-Za-z0-9._~-]{8,200}", text):
        raise ValueError("use 8 to 200 letters, digits, '.', '_', '~' or "
                         "'-' (it becomes part of a URL path)")
    return text


def option(flag, env, default, convert, help, repeat=False, secret=False):
    meta = {"flag": flag, "env": env, "convert": convert, "help": help,
            "repeat": repeat, "secret": secret}
    if repeat:
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Config:
    """Run a Docker Hub build-status mirror: the status API, badges and the
    browser client, in a federation of mirrors."""

    host: str = option("--host", "MIRROR_HOST", "0.0.0.0", str,
                       "address to listen on")
    port: int = option("--port", "PORT", 8080, port_number,
                       "port to listen on")
    upstream: str = option("--upstream", "MIRROR_UPSTREAM",
                           "https://hub.docker.com", http_url,
                           "Docker Hub API base URL (a replay for tests)")
    cache_ttl: float = option("--cache-ttl", "MIRROR_CACHE_TTL", 60.0,
                              positive_float,
                              "seconds an answer stays fresh")
    threads: int = option("--threads", "MIRROR_THREADS", 8, positive_int,
                          "waitress worker threads")
    source_url: str | None = option(
        "--source-url", "MIRROR_SOURCE_URL", None, http_url,
        "redirect /source here instead of serving an archive")
    cache_size: int = option("--cache-size", "MIRROR_CACHE_SIZE", 10000,
                             positive_int, "most images kept in the cache")
    access_log: bool = option("--access-log", "MIRROR_ACCESS_LOG", False,
                              flag_on, "log one line per request")
    public_url: str | None = option(
        "--public-url", "MIRROR_PUBLIC_URL", None, http_url,
        "this mirror's public address, announced when it registers")
    registry: str | None = option(
        "--registry", "MIRROR_REGISTRY", None, http_url,
        "registry to fetch the signed list from and register with")
    trusted_key: list = option(
        "--trusted-key", "MIRROR_TRUSTED_KEYS", [], str,
        "pinned registry public key, base64 (repeatable; the variable "
        "takes a comma-separated list)", repeat=True)
    peer: list = option(
        "--peer", "MIRROR_PEERS", [], http_url,
        "peer mirror to register with and fall back to (repeatable; the "
        "variable takes a comma-separated list)", repeat=True)
    state_dir: str | None = option(
        "--state-dir", "MIRROR_STATE_DIR", None, str,
        "directory for the highest accepted list version and peer table")
    allow_private: bool = option(
        "--allow-private", "MIRROR_ALLOW_PRIVATE", False, flag_on,
        "allow plain http and loopback or private addresses for peers "
        "(local networks and tests only)")
    health_interval: float = option(
        "--health-interval", "MIRROR_HEALTH_INTERVAL", 60.0, positive_float,
        "seconds between health checks of each peer")
    probation: int = option(
        "--probation", "MIRROR_PROBATION", 3, positive_int,
        "healthy checks before a registered peer is used")
    list_refresh: float = option(
        "--list-refresh", "MIRROR_LIST_REFRESH", 300.0, positive_float,
        "seconds between refreshes of the signed list")
    webhook_secret: str | None = option(
        "--webhook-secret", "MIRROR_WEBHOOK_SECRET", None, path_secret,
        "enables POST /v1/webhook/dockerhub/<secret> for push webhooks",
        secret=True)
    dockerhub_username: str | None = option(
        "--dockerhub-username", "DOCKERHUB_USERNAME", None, str,
        "Docker Hub account for the higher rate limit")
    dockerhub_token: str | None = option(
        "--dockerhub-token", "DOCKERHUB_TOKEN", None, str,
        "access token of that account (prefer the variable)", secret=True)


def parse(argv=None, environ=None, config_class=Config, prog=None,
          description=None):
    """Read a config from ``argv``, falling back to ``environ``."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog=prog, description=description or config_class.__doc__,
        epilog="Every option can also be set by the environment variable "
        "named in its help; a flag wins over the variable.")
    defaults = {spec.name: add_argument(parser, spec, environ)
                for spec in fields(config_class)}
    values = vars(parser.parse_args(argv))
    for name, value in values.items():
        if value is None:
            values[name] = defaults[name]
    return config_class(**values)


def add_argument(parser, spec, environ):
    meta = spec.metadata
    default = (spec.default_factory() if spec.default is MISSING
               else spec.default)
    raw = environ.get(meta["env"])
    if raw not in (None, ""):
        try:
            default = from_environment(meta, raw)
        except ValueError as error:
            parser.error(f"{meta['env']}: {error}")
    shown = "none" if default in (None, []) else default
    if meta["secret"] and default:
        shown = "set"
    help_text = f"{meta['help']} (env {meta['env']}, default {shown})"
    if meta["convert"] is flag_on:
        parser.add_argument(meta["flag"], dest=spec.name, default=default,
                            action=argparse.BooleanOptionalAction,
                            help=help_text)
    elif meta["repeat"]:
        # Flags given replace the variable's list rather than extend it.
        parser.add_argument(meta["flag"], dest=spec.name, default=None,
                            type=checked(meta["convert"]), help=help_text,
                            action="append")
    else:
        parser.add_argument(meta["flag"], dest=spec.name, default=default,
                            type=checked(meta["convert"]), help=help_text)
    return default


def from_environment(meta, raw):
    if meta["repeat"]:
        return [meta["convert"](part) for part in raw.split(",")
                if part.strip()]
    return meta["convert"](raw)


def checked(convert):
    """Turn a converter's ValueError into argparse's clear message."""
    def wrapper(text):
        try:
            return convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    wrapper.__name__ = convert.__name__
    return wrapper
