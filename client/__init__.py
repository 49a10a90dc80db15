"""The browser client: ``status.svg`` and ``status.js``, shipped as files.

``status.svg`` loads ``status.js``, which reads ``status-config.json``
beside it (the pinned keys, the registry and the bootstrap mirrors), asks
the mirrors from the verified signed list and paints the answer.
:mod:`client.bundle` writes the three files into a static site;
:mod:`client.routes` serves them from every mirror.
"""

from pathlib import Path

CLIENT_DIR = Path(__file__).resolve().parent
SVG_NAME = "status.svg"
SCRIPT_NAME = "status.js"
CONFIG_NAME = "status-config.json"


def read_file(name):
    """The bytes of one of the client's shipped files."""
    return (CLIENT_DIR / name).read_bytes()
