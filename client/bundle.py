"""Write the browser client as a static site that any static host serves.

The site is ``status.svg``, ``status.js`` and ``status-config.json``; the
configuration holds the pinned keys, the registry and the bootstrap
mirrors, all checked here, so that a mistake is caught when the bundle is
written rather than in a visitor's browser::

    write_bundle("site", ["<base64 key>"], "https://registry.example.org",
                 ["https://mirror.example.org"])

Bootstrap and registry URLs are ``https://host[:port]``. Plain ``http``
and private addresses are accepted there too, since the operator chose
them and the browser, not a server, fetches them; ``allow_private``
decides only whether the client accepts such URLs in a signed list.
"""

import json
from pathlib import Path

from client import CONFIG_NAME, SCRIPT_NAME, SVG_NAME, read_file
from registry.envelope import (
    MAX_MIRRORS,
    EnvelopeError,
    load_trusted_key,
    mirror_url,
)


class BundleError(ValueError):
    """An input the client could not work with; the message says which."""


def checked_keys(trusted_keys):
    """The pinned keys as stripped base64 text; each must load."""
    if isinstance(trusted_keys, str):
        raise BundleError("trusted keys must be a list, not one string")
    keys = []
    for text in trusted_keys:
        try:
            load_trusted_key(text)
        except EnvelopeError as error:
            raise BundleError(error.reason) from None
        if text.strip() not in keys:
            keys.append(text.strip())
    return keys


def checked_url(url, what):
    """The canonical ``scheme://host[:port]`` of an operator's URL."""
    try:
        return mirror_url(url, allow_private=True)
    except EnvelopeError as error:
        raise BundleError(f"{what}: {error.reason}") from None


def checked_bootstrap(bootstrap):
    """Canonical, de-duplicated bootstrap URLs; 1 to MAX_MIRRORS."""
    if isinstance(bootstrap, str):
        raise BundleError("bootstrap must be a list of URLs, not one string")
    urls = []
    for url in bootstrap:
        url = checked_url(url, "bootstrap mirror")
        if url not in urls:
            urls.append(url)
    if not urls:
        raise BundleError("at least one bootstrap mirror is needed")
    if len(urls) > MAX_MIRRORS:
        raise BundleError(f"{len(urls)} bootstrap mirrors; at most "
                          f"{MAX_MIRRORS}")
    return urls


def client_config(trusted_keys, registry_url, bootstrap,
                  allow_private=False):
    """The configuration ``status.js`` reads, as a dict.

    Keys and registry go together: with neither, the client uses its
    bootstrap list only.
    """
    keys = checked_keys(trusted_keys)
    registry = checked_url(registry_url, "registry") if registry_url else None
    if bool(keys) != bool(registry):
        raise BundleError("a signed list needs both a registry URL and at "
                          "least one trusted key")
    return {
        "trusted_keys": keys,
        "registry": registry,
        "bootstrap": checked_bootstrap(bootstrap),
        "allow_private": bool(allow_private),
    }


def config_json(trusted_keys, registry_url, bootstrap, allow_private=False):
    """``status-config.json`` as bytes; see :func:`client_config`."""
    config = client_config(trusted_keys, registry_url, bootstrap,
                           allow_private)
    return (json.dumps(config, indent=2) + "\n").encode("utf-8")


def write_bundle(out_dir, trusted_keys, registry_url, bootstrap,
                 allow_private=False):
    """Write the static site into ``out_dir``; return the paths written.

    The inputs are checked before anything is written.
    """
    config = config_json(trusted_keys, registry_url, bootstrap,
                         allow_private)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in ((SVG_NAME, read_file(SVG_NAME)),
                       (SCRIPT_NAME, read_file(SCRIPT_NAME)),
                       (CONFIG_NAME, config)):
        path = out / name
        path.write_bytes(data)
        written.append(path)
    return written
