"""The mirror's exception family.

Each error knows the HTTP status it is answered with and the short message
a badge shows for it; the description is written for the person who sees
it and says what to do.
"""


class MirrorError(Exception):
    """Base of every error a client of the mirror can meet."""

    status = 500
    badge = "error"
    max_age = 10

    def __init__(self, description, retry_after=None):
        super().__init__(description)
        self.description = description
        self.retry_after = retry_after


class BadName(MirrorError):
    """A name or tag that does not follow Docker's grammar."""

    status = 400
    badge = "invalid name"


class NotFound(MirrorError):
    """The repository or the tag does not exist (or is private)."""

    status = 404
    badge = "not found"


class UpstreamInvalid(MirrorError):
    """Docker Hub answered, but not with something we can read."""

    status = 502
    badge = "unavailable"


class UpstreamUnavailable(MirrorError):
    """Docker Hub could not be reached or failed."""

    status = 503
    badge = "unavailable"


class RateLimited(UpstreamUnavailable):
    """Docker Hub asked us to slow down; nothing is sent until it allows."""


class Busy(UpstreamUnavailable):
    """Every worker that may wait on Docker Hub is already waiting.

    The next try may well succeed, so caches must not keep this answer.
    """

    max_age = 0


class UpstreamTimeout(MirrorError):
    """Docker Hub did not answer within the deadline."""

    status = 504
    badge = "unavailable"
