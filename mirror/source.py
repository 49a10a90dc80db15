"""The running code as an archive, so every user can get the source.

The archive holds the installed ``mirror``, ``registry`` and ``client``
packages (whichever exist) and is built once, on the first request.
"""

import functools
import importlib.util
import io
import tarfile
from pathlib import Path

from mirror import __version__

PACKAGES = ("mirror", "registry", "client")
SKIPPED = {"__pycache__"}


def package_dirs():
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            yield name, Path(next(iter(spec.submodule_search_locations)))


def wanted(info):
    parts = Path(info.name).parts
    if SKIPPED.intersection(parts) or info.name.endswith(".pyc"):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


@functools.cache
def archive():
    """A tar.gz of the running code, as bytes."""
    top = f"dockerhub-build-status-{__version__}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, path in package_dirs():
            tar.add(path, arcname=f"{top}/{name}", filter=wanted)
        licence = Path(__file__).resolve().parent.parent / "LICENSE"
        if licence.is_file():
            tar.add(licence, arcname=f"{top}/LICENSE")
    return buffer.getvalue()


def archive_name():
    return f"dockerhub-build-status-{__version__}.tar.gz"
