"""The registry's signing key: generated once, kept in a PEM file.

Usage::

    key = generate_key("registry.pem")   # refuses to overwrite
    key = load_key("registry.pem")
    print(public_key_text(key), key_id(key))
"""

import base64
import logging
import os
import stat

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from registry.envelope import keyid, raw_public_key

log = logging.getLogger(__name__)


class KeyFileError(Exception):
    """The key file cannot be written or read; ``reason`` says why."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def generate_key(path):
    """Write a new Ed25519 private key to ``path`` and return it.

    The file is PEM (PKCS#8, unencrypted) with mode 0600 and is created
    exclusively: an existing file is never overwritten.
    """
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(
            f"{path} already exists; refusing to overwrite a key"
        ) from None
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}") from None

    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    log.info("new signing key %s written to %s", key_id(key), path)
    return key


def load_key(path):
    """Read the Ed25519 private key in ``path`` (PEM)."""
    try:
        with open(path, "rb") as handle:
            _warn_if_readable_by_others(path, handle.fileno())
            pem = handle.read()
    except OSError as exc:
        raise KeyFileError(f"cannot read key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(
            f"{path} is not an unencrypted PEM private key: {exc}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(
            f"{path} holds a {type(key).__name__}, not an Ed25519 key"
        )
    return key


def _warn_if_readable_by_others(path, fd):
    mode = os.fstat(fd).st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "key file %s is accessible to other users (mode %o); chmod 600 it",
            path,
            stat.S_IMODE(mode),
        )


def public_key_text(key):
    """Base64 of the raw 32-byte public key (private or public ``key``).

    This is the text operators pin with ``--trusted-key``.
    """
    return base64.b64encode(raw_public_key(key)).decode("ascii")


def key_id(key):
    """The 16-hex-digit keyid of ``key``, as in the signed list."""
    return keyid(key)
