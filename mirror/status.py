"""What a status lookup answers: the Status record and its JSON form."""

import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property

SUCCESS = 10
PUBLISHED = 1
STATES = {10: "success", 0: "queued", 3: "building", -1: "failed",
          -4: "cancelled"}
FRACTION = re.compile(r"(\.\d{1,6})\d*")


def etag_of(body):
    return f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'


def state_of_build(status):
    """Negative is a finished failure, 10 a success, the rest running."""
    if status in STATES:
        return STATES[status]
    return "failed" if status < 0 else "building"


def iso_utc(value):
    """Normalise an upstream timestamp to ``YYYY-MM-DDTHH:MM:SSZ``."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(FRACTION.sub(r"\1", value, count=1))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Status:
    """The status of one image tag, and where the answer came from."""

    status: int
    state: str
    tag: str
    source: str
    updated: str | None = None

    def with_source(self, source):
        return replace(self, source=source)

    @cached_property
    def encoded(self):
        """The JSON body and its ETag, computed once per answer."""
        body = json.dumps(self.as_json()).encode()
        return body, etag_of(body)

    def as_json(self):
        body = {"request": "ok", "status": self.status, "state": self.state,
                "tag": self.tag, "source": self.source}
        if self.updated:
            body["updated"] = self.updated
        return body

    @classmethod
    def from_json(cls, body, source):
        """Read a peer's answer; raise ValueError if it is not one."""
        status, state = body.get("status"), body.get("state")
        if body.get("request") != "ok" or type(status) is not int:
            raise ValueError("not a status answer")
        if not isinstance(state, str) or state not in VALID_STATES:
            state = state_of_build(status) if status != 1 else "published"
        tag = body.get("tag") if isinstance(body.get("tag"), str) else ""
        return cls(status, state, tag, source, iso_utc(body.get("updated")))


VALID_STATES = frozenset(STATES.values()) | {"published"}
