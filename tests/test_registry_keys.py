"""The signing key file: created once, private, and read back."""

import base64
import logging
import os
import stat
from pathlib import Path

import pytest

from registry.envelope import keyid
from registry.keys import (
    KeyFileError,
    generate_key,
    key_id,
    load_key,
    public_key_text,
)

DATA = Path(__file__).parent / "data" / "registry"


def test_new_key_file_is_pem_readable_only_by_its_owner(tmp_path):
    path = tmp_path / "registry.pem"

    generate_key(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_new_key_file_is_private_even_with_a_lax_umask(tmp_path):
    old = os.umask(0)
    try:
        generate_key(tmp_path / "registry.pem")
    finally:
        os.umask(old)

    mode = (tmp_path / "registry.pem").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_existing_key_is_never_overwritten(tmp_path):
    path = tmp_path / "registry.pem"
    generate_key(path)
    before = path.read_bytes()

    with pytest.raises(KeyFileError, match="already exists"):
        generate_key(path)

    assert path.read_bytes() == before


def test_generated_key_loads_back(tmp_path):
    path = tmp_path / "registry.pem"
    key = generate_key(path)

    loaded = load_key(path)

    assert public_key_text(loaded) == public_key_text(key)


def test_public_key_text_is_base64_of_32_raw_bytes():
    key = load_key(DATA / "signing_key.pem")

    raw = base64.b64decode(public_key_text(key), validate=True)

    assert len(raw) == 32
    assert public_key_text(key.public_key()) == public_key_text(key)


def test_key_id_is_the_envelope_keyid():
    key = load_key(DATA / "signing_key.pem")

    assert key_id(key) == keyid(key.public_key())
    assert len(key_id(key)) == 16


def test_missing_key_file_is_reported(tmp_path):
    with pytest.raises(KeyFileError, match="cannot read"):
        load_key(tmp_path / "absent.pem")


def test_file_that_is_no_key_is_reported(tmp_path):
    path = tmp_path / "registry.pem"
    path.write_text("not a key\n")

    with pytest.raises(KeyFileError, match="not an unencrypted PEM"):
        load_key(path)


def test_key_readable_by_others_is_loaded_with_a_warning(tmp_path, caplog):
    path = tmp_path / "registry.pem"
    generate_key(path)
    path.chmod(0o644)

    with caplog.at_level(logging.WARNING, logger="registry.keys"):
        load_key(path)

    assert "chmod 600" in caplog.text
