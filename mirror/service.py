"""The mirror's working parts, wired together from a Config."""

import logging
import time

from mirror.cache import StatusCache
from mirror.credentials import Credentials
from mirror.dockerhub import DockerHub
from mirror.errors import BadName, MirrorError, NotFound
from mirror.federation import Federation
from mirror.metrics import Metrics
from mirror.upstream import Upstream

log = logging.getLogger(__name__)

KEPT_FREE = 2
LOOKUP_DEADLINE = 15.0


class Mirror:
    """Status lookups through the cache, the upstream and fallbacks.

    ``fallbacks`` are tried in order when Docker Hub gives no answer and
    the cache has nothing to stand in; each takes an image and returns a
    Status or raises a MirrorError.
    """

    def __init__(self, config, upstream=None):
        self.config = config
        self.upstream = upstream or Upstream(config.upstream)
        if config.dockerhub_username and config.dockerhub_token:
            self.upstream.auth = Credentials(
                config.upstream, config.dockerhub_username,
                config.dockerhub_token, self.upstream.session)
        self.dockerhub = DockerHub(self.upstream)
        self.fallbacks = []
        self.metrics = Metrics()
        self.federation = None
        if (config.registry or config.peer or config.public_url
                or config.trusted_key):
            self.federation = Federation(config)
            self.fallbacks.append(self.federation.ask_peers)
        self.cache = StatusCache(
            self.find, ttl=config.cache_ttl, maxsize=config.cache_size,
            cold_slots=config.threads - KEPT_FREE)

    def status(self, image, hop=False):
        """The status of an image, as fresh as the cache allows.

        ``hop`` marks a request forwarded by a peer: it is answered from
        the cache or Docker Hub only, never forwarded again.
        """
        if hop:
            return self.cache.get(image, lookup=self.dockerhub.status)
        return self.cache.get(image)

    def find(self, image):
        """Ask Docker Hub, then each fallback; raise the first error."""
        deadline = time.monotonic() + LOOKUP_DEADLINE
        try:
            return self.dockerhub.status(image)
        except MirrorError as error:
            if is_final(error):
                raise
            for fallback in self.fallbacks:
                try:
                    return fallback(image, deadline)
                except NotFound:
                    raise
                except MirrorError as reason:
                    log.info("fallback for %s failed: %s", image,
                             reason.description)
            raise

    def close(self):
        if self.federation:
            self.federation.stop()
        self.cache.close()
        self.upstream.session.close()


def is_final(error):
    """A not-found answer is an answer; fallbacks only cover failures."""
    return isinstance(error, (NotFound, BadName))
