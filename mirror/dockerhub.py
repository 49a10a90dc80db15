"""The Docker Hub lookups: build history first, then the tag.

Build history is read where it still answers; when it gives no usable
answer the tag tells whether the image is published. Each function turns
upstream answers into a :class:`~mirror.status.Status` or a MirrorError.
"""

import logging
import time

from mirror.errors import (
    MirrorError,
    NotFound,
    RateLimited,
    UpstreamInvalid,
    UpstreamUnavailable,
)
from mirror.status import PUBLISHED, Status, iso_utc, state_of_build

log = logging.getLogger(__name__)

MAX_PAGES = 10
PAGE_SIZE = 100
LOOKUP_DEADLINE = 10.0


def is_build(entry):
    return (isinstance(entry, dict)
            and type(entry.get("status")) is int
            and isinstance(entry.get("dockertag_name"), str)
            and isinstance(entry.get("created_date"), str))


def newest_of_tag(results, tag):
    """The newest build of ``tag`` on one page, by created_date."""
    builds = [entry for entry in results
              if is_build(entry) and entry["dockertag_name"] == tag]
    if not builds:
        return None
    return max(builds, key=lambda entry: iso_utc(entry["created_date"])
               or entry["created_date"])


class DockerHub:
    """Status lookups against one :class:`~mirror.upstream.Upstream`."""

    def __init__(self, upstream, deadline=LOOKUP_DEADLINE,
                 clock=time.monotonic):
        self.upstream = upstream
        self.deadline = deadline
        self.clock = clock

    def status(self, image):
        """The status of ``image``: build history, else its tag."""
        deadline = self.clock() + self.deadline
        if self.upstream.auth is not None:
            self.refuse_private(image, deadline)
        try:
            build = self.newest_build(image, deadline)
        except RateLimited:
            raise
        except MirrorError as error:
            log.info("build history of %s gave no answer: %s",
                     image.name, error.description)
            build = None
        if build is not None:
            return Status(build["status"], state_of_build(build["status"]),
                          image.tag, "buildhistory",
                          iso_utc(build.get("last_updated")))
        return self.tag_status(image, deadline)

    def newest_build(self, image, deadline):
        """Walk build history (bounded) for the newest build of the tag."""
        url = self.upstream.url(
            f"/v2/repositories/{image.namespace}/{image.repository}"
            f"/buildhistory/?page_size={PAGE_SIZE}")
        seen = set()
        for _ in range(MAX_PAGES):
            seen.add(url)
            page = self.upstream.get(url, deadline).json_object
            results = page.get("results") if page else None
            if not isinstance(results, list):
                return None
            build = newest_of_tag(results, image.tag)
            if build is not None:
                return build
            url = self.next_page(url, page.get("next"), seen)
            if url is None:
                return None
        return None

    def next_page(self, current, link, seen):
        if not isinstance(link, str) or not link:
            return None
        url = self.upstream.resolve(current, link)
        if url is None:
            log.warning("ignored off-origin next link %r", link)
            return None
        return None if url in seen else url

    def refuse_private(self, image, deadline):
        """With credentials we could see private repositories: never show
        them, answer exactly as for a missing one."""
        url = self.upstream.url(
            f"/v2/namespaces/{image.namespace}/repositories/"
            f"{image.repository}")
        reply = self.upstream.get(url, deadline)
        body = reply.json_object
        if reply.status == 200 and body and body.get("is_private") is False:
            return
        if reply.status in (200, 401, 403, 404) and body is not None:
            raise missing_repository(image)
        raise failure(reply, image)

    def tag_status(self, image, deadline):
        """Whether the tag exists: published, or a precise NotFound."""
        url = self.upstream.url(
            f"/v2/namespaces/{image.namespace}/repositories/"
            f"{image.repository}/tags/{image.tag}")
        reply = self.upstream.get(url, deadline)
        body = reply.json_object
        if reply.status == 200 and body and isinstance(body.get("name"), str):
            updated = body.get("tag_last_pushed") or body.get("last_updated")
            return Status(PUBLISHED, "published", image.tag, "tags",
                          iso_utc(updated))
        if reply.status in (401, 403, 404) and body is not None:
            raise not_found(image, body)
        raise failure(reply, image)


def failure(reply, image):
    """The error for an answer that is neither found nor not found."""
    if reply.status >= 500:
        return UpstreamUnavailable(
            f"Docker Hub failed (HTTP {reply.status}); try again later")
    return UpstreamInvalid(
        f"Docker Hub gave an unreadable answer (HTTP {reply.status}) "
        f"for {image.name}; try again later")


def not_found(image, body):
    """Tell a missing tag from a missing (or private) repository."""
    errinfo = body.get("errinfo")
    message = body.get("message")
    missing_tag = (isinstance(errinfo, dict) and "tag" in errinfo) or (
        isinstance(message, str) and message.startswith("tag "))
    if missing_tag:
        return NotFound(
            f"tag {image.tag!r} not found in {image.name} on Docker Hub; "
            "check the tag name (tags are case-sensitive)")
    return missing_repository(image)


def missing_repository(image):
    return NotFound(
        f"repository {image.name} not found on Docker Hub; check the name "
        "or whether it is private")
