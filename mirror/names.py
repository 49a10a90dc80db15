"""Docker Hub names: normalisation and validation before any URL is built.

>>> parse_image("_", "Nginx", "")
Image(namespace='library', repository='nginx', tag='latest')
"""

import functools
import re
from dataclasses import dataclass

from mirror.errors import BadName

NAME = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
MAX_NAME = 255
ALIASES = {"_": "library"}

NAME_RULE = (
    "use lowercase letters and digits, separated by single '.', '_', "
    "'__' or runs of '-'"
)
TAG_RULE = (
    "use up to 128 letters, digits, '_', '.' or '-', not starting "
    "with '.' or '-'"
)


@dataclass(frozen=True)
class Image:
    """A repository and tag on Docker Hub, already validated."""

    namespace: str
    repository: str
    tag: str

    def __str__(self):
        return f"{self.namespace}/{self.repository}:{self.tag}"

    @property
    def name(self):
        return f"{self.namespace}/{self.repository}"


def shown(value, limit=60):
    """Quote a user's value for an error message, cut to a sane length."""
    if len(value) > limit:
        value = value[: limit - 1] + "\u2026"
    return repr(value)


def parse_name(value, part, aliases=None):
    """Lowercase and check an organization or repository name."""
    name = (aliases or {}).get(value, value).lower()
    if not name:
        raise BadName(f"{part} is empty; {NAME_RULE}")
    if len(name) > MAX_NAME:
        raise BadName(f"{part} is longer than {MAX_NAME} characters")
    if not NAME.fullmatch(name):
        raise BadName(
            f"{part} {shown(value)} is not a valid Docker Hub name; "
            f"{NAME_RULE}"
        )
    return name


def parse_tag(value):
    """Check a tag as given (case kept); an empty tag means latest."""
    if not value:
        return "latest"
    if not TAG.fullmatch(value):
        raise BadName(
            f"tag {shown(value)} is not a valid Docker tag; {TAG_RULE}")
    return value


@functools.lru_cache(maxsize=4096)
def parse_image(organization, repository, tag):
    """Build an :class:`Image` from what a user typed, or raise BadName."""
    return Image(
        parse_name(organization, "organization", ALIASES),
        parse_name(repository, "repository"),
        parse_tag(tag or ""),
    )
