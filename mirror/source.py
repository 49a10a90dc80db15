"""The running code as an archive, so every user can get the source.

The archive holds the installed ``mirror``, ``registry`` and ``client``
packages (whichever exist) and is built once, on the first request.
"""

import functools
import importlib.metadata
import importlib.util
import io
import tarfile
from pathlib import Path

from mirror import SOFTWARE, __version__

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
        text = licence_text()
        if text:
            info = tarfile.TarInfo(f"{top}/LICENSE")
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    return buffer.getvalue()


def licence_text():
    """The licence, from a source checkout or the installed metadata."""
    checkout = Path(__file__).resolve().parent.parent / "LICENSE"
    if checkout.is_file():
        return checkout.read_bytes()
    try:
        dist = importlib.metadata.distribution(SOFTWARE)
    except importlib.metadata.PackageNotFoundError:
        return None
    for name in ("licenses/LICENSE", "LICENSE"):
        text = dist.read_text(name)
        if text:
            return text.encode()
    return None


def archive_name():
    return f"dockerhub-build-status-{__version__}.tar.gz"
