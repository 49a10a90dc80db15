"""Docker Hub push webhooks: refresh the pushed tag at once.

Docker Hub POSTs a JSON body naming the repository and the pushed tag to
the URL the repository owner configured; the secret in that URL is the
only proof it came from them, so it is compared in constant time and a
wrong one changes nothing.
"""

import hmac
import json
import logging

from mirror.errors import BadName, MirrorError
from mirror.names import parse_image

log = logging.getLogger(__name__)

MAX_PAYLOAD = 64 * 1024


class Forbidden(MirrorError):
    status = 403
    badge = "forbidden"


def secret_matches(given, expected):
    return hmac.compare_digest(given.encode(), expected.encode())


def pushed_image(body):
    """The image a webhook payload announces, or BadName."""
    try:
        payload = json.loads(body)
        repository = payload["repository"]
        namespace = repository.get("namespace")
        name = repository.get("name")
        if not (namespace and name):
            namespace, _, name = repository["repo_name"].partition("/")
        tag = payload.get("push_data", {}).get("tag") or "latest"
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadName("the webhook payload is not Docker Hub's push "
                      "notification (repository and push_data)") from error
    if not all(isinstance(v, str) for v in (namespace, name, tag)):
        raise BadName("the webhook payload names no repository")
    return parse_image(namespace, name, tag)


def receive(mirror, secret, body):
    """Check the secret, read the payload and refresh that image."""
    expected = mirror.config.webhook_secret or ""
    if not expected or not secret_matches(secret, expected):
        raise Forbidden("wrong webhook secret")
    if len(body) > MAX_PAYLOAD:
        raise BadName("the webhook payload is too large")
    image = pushed_image(body)
    log.info("webhook: refreshing %s", image)
    mirror.cache.refresh(image)
    return image
