"""``dockerhub-registry client-bundle``: the client as a static site.

::

    dockerhub-registry client-bundle --trusted-key BASE64 \\
        --registry-url https://registry.example.org \\
        --bootstrap https://mirror.example.org --out site/

writes ``status.svg``, ``status.js`` and ``status-config.json`` into
``site/``, ready for any static host. Every input is checked before
anything is written; a mistake is one line on stderr and exit status 2.
"""

import sys
from dataclasses import dataclass
from typing import ClassVar

from client.bundle import (
    BundleError,
    checked_bootstrap,
    checked_keys,
    checked_url,
    write_bundle,
)
from mirror.config import http_url, option
from registry.config import ConfigError, allow_private

PROG = "dockerhub-registry client-bundle"
SUMMARY = "write the browser client as a static site"


@dataclass
class BundleConfig:
    """The options of ``client-bundle``."""

    required: ClassVar = ("trusted_key", "registry_url", "bootstrap", "out")

    trusted_key: list = option(
        "--trusted-key", "REGISTRY_TRUSTED_KEYS", [], str,
        "registry public key the client pins, base64 (repeatable; the "
        "variable takes a comma-separated list)", repeat=True)
    registry_url: str | None = option(
        "--registry-url", "REGISTRY_URL", None, http_url,
        "the registry whose signed list the client fetches and checks")
    bootstrap: list = option(
        "--bootstrap", "CLIENT_BOOTSTRAP", [], http_url,
        "mirror the client starts from (repeatable; the variable takes a "
        "comma-separated list)", repeat=True)
    out: str | None = option(
        "--out", "CLIENT_BUNDLE_DIR", None, str,
        "directory to write the static site into (created if missing)")
    allow_private: bool = allow_private()

    def check(self):
        """Refuse, naming the flag, what the client could not use."""
        for flag, check in (
            ("--trusted-key", lambda: checked_keys(self.trusted_key)),
            ("--registry-url",
             lambda: checked_url(self.registry_url, "registry")),
            ("--bootstrap", lambda: checked_bootstrap(self.bootstrap)),
        ):
            try:
                check()
            except BundleError as error:
                raise ConfigError(f"{flag}: {error}") from None


def client_bundle(config):
    """Write the bundle; print the files written. Exit status 0 or 2."""
    try:
        written = write_bundle(config.out, config.trusted_key,
                               config.registry_url, config.bootstrap,
                               config.allow_private)
    except (BundleError, OSError) as error:
        print(f"{PROG}: cannot write {config.out}: {error}",
              file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0
