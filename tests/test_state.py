"""State files: atomic replacement, a backup, and loads after a crash."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from registry import state
from registry.state import StateError, load_json, save_json

ROOT = Path(__file__).resolve().parent.parent

WRITER = """
import sys
from registry.state import load_json, save_json

path = sys.argv[1]
version = load_json(path, default={"version": 0})["version"] + 1
save_json(path, {"version": version})
print("ready", flush=True)
while True:
    version += 1
    save_json(path, {"version": version, "padding": "x" * 8192})
"""


def test_missing_state_loads_the_default(tmp_path):
    assert load_json(tmp_path / "registry.json", default={"v": 0}) == {"v": 0}


def test_saved_state_loads_back(tmp_path):
    path = tmp_path / "state" / "registry.json"

    save_json(path, {"version": 7, "members": ["https://a.example.org"]})

    assert load_json(path) == {
        "version": 7,
        "members": ["https://a.example.org"],
    }


def test_previous_state_is_kept_as_backup(tmp_path):
    path = tmp_path / "registry.json"
    save_json(path, {"version": 1})

    save_json(path, {"version": 2})

    backup = tmp_path / "registry.json.bak"
    assert json.loads(backup.read_text()) == {"version": 1}


def test_corrupt_state_falls_back_to_its_backup(tmp_path, caplog):
    path = tmp_path / "registry.json"
    save_json(path, {"version": 1})
    save_json(path, {"version": 2})
    path.write_text('{"version": ')

    assert load_json(path) == {"version": 1}
    assert "using its backup" in caplog.text


def test_corrupt_state_never_replaces_a_good_backup(tmp_path):
    path = tmp_path / "registry.json"
    save_json(path, {"version": 1})
    save_json(path, {"version": 2})
    path.write_text("garbage")

    save_json(path, {"version": 3})

    backup = tmp_path / "registry.json.bak"
    assert json.loads(backup.read_text()) == {"version": 1}


def test_corrupt_state_without_backup_is_refused_clearly(tmp_path):
    path = tmp_path / "registry.json"
    path.write_text("garbage")

    with pytest.raises(StateError, match="corrupt.*remove both"):
        load_json(path, default={})


def test_missing_state_with_a_backup_loads_the_backup(tmp_path):
    path = tmp_path / "registry.json"
    save_json(path, {"version": 1})
    save_json(path, {"version": 2})
    path.unlink()

    assert load_json(path, default={"version": 0}) == {"version": 1}


def test_state_that_is_not_json_is_refused_before_writing(tmp_path):
    path = tmp_path / "registry.json"

    with pytest.raises(StateError, match="cannot store"):
        save_json(path, {"when": object()})

    assert not path.exists()


def test_fault_before_the_replace_keeps_the_old_state(tmp_path, monkeypatch):
    path = tmp_path / "registry.json"
    save_json(path, {"version": 1})
    real_replace = os.replace

    def failing_replace(source, destination):
        if Path(destination) == path:
            raise OSError(28, "No space left on device")
        real_replace(source, destination)

    monkeypatch.setattr(state.os, "replace", failing_replace)

    with pytest.raises(StateError, match="No space left"):
        save_json(path, {"version": 2})

    assert load_json(path) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "registry.json",
        "registry.json.bak",
    ]


def test_killed_writer_always_leaves_loadable_state(tmp_path):
    path = tmp_path / "registry.json"
    highest = 0

    for attempt in range(12):
        run_writer_until_killed(path, delay=0.02 + 0.01 * attempt)

        on_disk = json.loads(path.read_text())  # never torn
        assert load_json(path)["version"] == on_disk["version"]
        assert on_disk["version"] > highest
        highest = on_disk["version"]

    assert highest > 0


def test_stale_temporary_files_are_removed_on_load(tmp_path):
    path = tmp_path / "registry.json"
    save_json(path, {"version": 1})
    stale = tmp_path / ".registry.json.abc123.tmp"
    stale.write_text('{"version": ')
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))

    load_json(path)

    assert not stale.exists()


def run_writer_until_killed(path, delay):
    """Start a process that saves state in a loop; SIGKILL it mid-loop."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert writer.stdout.readline() == b"ready\n"
        time.sleep(delay)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
        writer.stdout.close()
