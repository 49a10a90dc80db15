"""The mirror's settings: one typed place, read from flags or environment.

Each field names its command-line flag, its environment variable and its
help text; :func:`parse` builds the command line from them, so an option
added here is in ``--help`` and the environment at once.
"""

import argparse
import os
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
    return text.strip().lower() in ("1", "true", "yes", "on")


def option(flag, env, default, convert, help, repeat=False, secret=False):
    meta = {"flag": flag, "env": env, "convert": convert, "help": help,
            "repeat": repeat, "secret": secret}
    if repeat:
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Config:
    """Everything a mirror can be told; defaults suit a public mirror."""

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
    webhook_secret: str | None = option(
        "--webhook-secret", "MIRROR_WEBHOOK_SECRET", None, str,
        "enables POST /v1/webhook/dockerhub/<secret> for push webhooks",
        secret=True)
    dockerhub_username: str | None = option(
        "--dockerhub-username", "DOCKERHUB_USERNAME", None, str,
        "Docker Hub account for the higher rate limit")
    dockerhub_token: str | None = option(
        "--dockerhub-token", "DOCKERHUB_TOKEN", None, str,
        "access token of that account (prefer the variable)", secret=True)


def parse(argv=None, environ=None, config_class=Config, prog=None):
    """Read a config from ``argv``, falling back to ``environ``."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split(
        "\n")[0])
    for spec in fields(config_class):
        add_argument(parser, spec, environ)
    return config_class(**vars(parser.parse_args(argv)))


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
        return
    parser.add_argument(meta["flag"], dest=spec.name, default=default,
                        type=checked(meta["convert"]), help=help_text,
                        action="append" if meta["repeat"] else "store")


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
