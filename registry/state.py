"""State files that survive restarts and crashes.

A state file is JSON, replaced atomically: the new content goes to a
temporary file in the same directory, is flushed to disk, and takes the
file's place with :func:`os.replace`; then the directory entry is
flushed too. A kill at any instant leaves either the old or the new
content, never a torn file. The previous good content is kept beside it
as ``<name>.bak``, the fallback for a file damaged some other way (a
disk fault, a hand edit).

Usage::

    save_json(state_dir / "registry.json", {"version": 17, ...})
    state = load_json(state_dir / "registry.json", default={})
"""

import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

BACKUP_SUFFIX = ".bak"
STALE_TEMP_SECONDS = 60

_locks = {}
_locks_guard = threading.Lock()


class StateError(Exception):
    """A state file cannot be written or read; ``reason`` says why."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def save_json(path, data):
    """Write ``data`` as JSON to ``path`` atomically, keeping a backup.

    Creates the directory if needed. Raises :class:`StateError` when the
    data is not JSON-serialisable or the disk refuses the write.
    """
    path = Path(path)
    try:
        text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StateError(f"cannot store {path.name}: {exc}") from None

    with _lock_for(path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _keep_backup(path)
            write_atomic(path, (text + "\n").encode("utf-8"))
        except OSError as exc:
            raise StateError(f"cannot write {path}: {exc}") from None


def load_json(path, default=None):
    """Read the JSON state in ``path``.

    Returns ``default`` when neither the file nor its backup exists. A
    file that does not parse falls back to the backup (with a warning);
    if that fails too, :class:`StateError` tells the operator what to
    fix.
    """
    path = Path(path)
    backup = _backup_path(path)
    _remove_stale_temps(path)

    data, problem = _read(path)
    if problem is None:
        return data
    if problem == "missing" and not backup.exists():
        return default

    fallback, backup_problem = _read(backup)
    if backup_problem is None:
        log.warning(
            "state file %s is %s; using its backup %s", path, problem, backup
        )
        return fallback
    raise StateError(
        f"state file {path} is {problem} and its backup {backup} is "
        f"{backup_problem}; restore one of them or remove both to start "
        "from empty state"
    )


def write_atomic(path, raw):
    """Replace ``path`` by ``raw`` bytes so that no reader sees a mix."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        _unlink_quietly(temp)
        raise
    _fsync_directory(path.parent)


def _keep_backup(path):
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        return
    if _parse(current) is _INVALID:
        log.warning(
            "state file %s does not parse; keeping the older backup", path
        )
        return
    write_atomic(_backup_path(path), current)


def _read(path):
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, f"unreadable ({exc.strerror})"
    data = _parse(raw)
    if data is _INVALID:
        return None, "corrupt (not JSON)"
    return data, None


_INVALID = object()


def _parse(raw):
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return _INVALID


def _backup_path(path):
    return path.with_name(path.name + BACKUP_SUFFIX)


def _lock_for(path):
    key = str(path.resolve())
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory
    finally:
        os.close(fd)


def _remove_stale_temps(path):
    # A process killed between creating and replacing its temporary file
    # leaves it behind; a later start cleans it up.
    cutoff = time.time() - STALE_TEMP_SECONDS
    for temp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if temp.stat().st_mtime < cutoff:
                temp.unlink()
        except OSError:
            pass


def _unlink_quietly(name):
    try:
        os.unlink(name)
    except OSError:
        pass
