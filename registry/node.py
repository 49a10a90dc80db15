"""What every node of the federation does, mirror or registry.

A node that wants to join POSTs its public URL to another node's
``/v1/register`` (:class:`Announcer`). The receiver answers a random token
(:class:`Registrations`); the new node serves that token at the challenge
path (:class:`Challenges`); the receiver fetches it under the SSRF guard,
retrying with back-off while the token lives, then checks the node's
health and hands the URL on, to start probation.

:func:`add_node_routes` adds the endpoints every node serves:
``/v1/register``, the challenge path, ``/v1/peers`` and
``/v1/mirrors.json``.
"""

import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bottle import HTTPResponse, request

from mirror.plugins import error_body, json_response
from registry import guard
from registry.envelope import EnvelopeError, mirror_url
from registry.health import check_health

log = logging.getLogger(__name__)

CHALLENGE_PATH = "/.well-known/dockerhub-status/challenge/"
TOKEN_LIFETIME = 600
MAX_REGISTER_BODY = 4096
FIRST_RETRY = 1.0
MAX_RETRY = 60.0


class Challenges:
    """Tokens this node was given when it registered; served to prove
    that it controls its URL."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._tokens = {}
        self._lock = threading.Lock()

    def add(self, token, lifetime=TOKEN_LIFETIME):
        with self._lock:
            now = self.clock()
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
            self._tokens[token] = now + min(float(lifetime), TOKEN_LIFETIME)

    def knows(self, token):
        with self._lock:
            expires = self._tokens.get(token)
        return expires is not None and expires > self.clock()


class Announcer:
    """Registers this node's public URL with other nodes."""

    def __init__(self, public_url, challenges, allow_private=False):
        self.public_url = public_url
        self.challenges = challenges
        self.allow_private = allow_private

    def register_with(self, node_url):
        """POST our URL to ``node_url``; True when it took the request."""
        try:
            answer = guard.fetch(
                node_url.rstrip("/") + "/v1/register",
                method="POST",
                json={"url": self.public_url},
                allow_private=self.allow_private,
                max_bytes=4096,
            )
            body = answer.json() if answer.status == 202 else None
            token = body.get("token") if isinstance(body, dict) else None
        except guard.GuardError as error:
            log.warning(
                "registration with %s failed: %s", node_url, error.reason
            )
            return False
        if not isinstance(token, str) or not token:
            log.warning(
                "registration with %s refused (HTTP %s)",
                node_url,
                answer.status,
            )
            return False
        self.challenges.add(token, body.get("expires_in", TOKEN_LIFETIME))
        log.info("registered with %s; answering its challenge", node_url)
        return True


class RegistrationError(ValueError):
    """A registration that is refused; ``status`` is the HTTP answer."""

    def __init__(self, reason, status=400):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Registrations:
    """Registrations other nodes send here, verified in the background.

    ``accepted(url)`` is called for each node that proved its URL and
    answered its health check.
    """

    def __init__(
        self,
        accepted,
        *,
        own_url=None,
        allow_private=False,
        limiter=None,
        clock=time.monotonic,
        workers=4,
    ):
        self.accepted = accepted
        self.own_url = own_url
        self.allow_private = allow_private
        self.limiter = limiter or guard.RegistrationLimiter(ttl=TOKEN_LIFETIME)
        self.clock = clock
        self.stopping = threading.Event()
        self._pool = ThreadPoolExecutor(workers, "register")

    def register(self, url, client):
        """Take a registration; returns the token the node must serve."""
        url = self.checked_url(url)
        token = secrets.token_urlsafe(24)
        try:
            self.limiter.admit(client, token)
        except guard.RegistrationLimitError as error:
            raise RegistrationError(error.reason, 429) from None
        self._pool.submit(self.verify, url, token)
        log.info("registration from %s for %s; challenge sent", client, url)
        return token

    def checked_url(self, url):
        if not isinstance(url, str):
            raise RegistrationError('the body must be {"url": "https://..."}')
        try:
            url = mirror_url(url, self.allow_private)
            guard.check_url(url, self.allow_private)
        except (EnvelopeError, guard.GuardError) as error:
            reason = getattr(error, "reason", str(error))
            raise RegistrationError(f"refused URL: {reason}") from None
        if url == self.own_url:
            raise RegistrationError("that is this node's own URL")
        return url

    def verify(self, url, token):
        """Fetch the challenge until it answers or the token expires."""
        expires = self.clock() + TOKEN_LIFETIME
        delay = FIRST_RETRY
        try:
            while not self.stopping.is_set() and self.clock() < expires:
                if self.challenge_answered(url, token):
                    self.health_checked(url)
                    return
                self.stopping.wait(delay)
                delay = min(delay * 2, MAX_RETRY)
            log.info("registration of %s expired unproven", url)
        finally:
            self.limiter.release(token)

    def challenge_answered(self, url, token):
        try:
            answer = guard.fetch(
                url + CHALLENGE_PATH + token,
                allow_private=self.allow_private,
                max_bytes=1024,
            )
        except guard.GuardError as error:
            log.debug("challenge of %s not answered: %s", url, error.reason)
            return False
        return answer.status == 200 and answer.body.strip() == (token.encode())

    def health_checked(self, url):
        result = check_health(url, self.allow_private)
        if not result.ok:
            log.info(
                "registration of %s refused: health check: %s",
                url,
                result.error,
            )
            return
        log.info("registration of %s proven; starting probation", url)
        self.accepted(url)

    def close(self):
        self.stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


def error_response(description, status):
    return json_response(error_body(description), status)


def add_node_routes(app, node):
    """The federation endpoints; ``node`` provides ``registrations``,
    ``challenges``, ``peers_view()`` and ``signed_list_bytes()``."""

    @app.post("/v1/register")
    def register():
        raw = request.body.read(MAX_REGISTER_BODY + 1)
        try:
            if len(raw) > MAX_REGISTER_BODY:
                raise RegistrationError("the registration is too large")
            body = parse_object(raw)
            token = node.registrations.register(
                body.get("url"), request.remote_addr
            )
        except RegistrationError as error:
            return error_response(error.reason, error.status)
        return json_response(
            {"token": token, "expires_in": TOKEN_LIFETIME}, 202
        )

    @app.get(CHALLENGE_PATH.rstrip("/") + "/<token>")
    def challenge(token):
        if not node.challenges.knows(token):
            return error_response("no such challenge", 404)
        return HTTPResponse(
            token,
            200,
            {"Content-Type": "text/plain", "Cache-Control": "no-store"},
        )

    @app.get("/v1/peers")
    def peers():
        return json_response(node.peers_view())

    @app.get("/v1/mirrors.json")
    def mirrors():
        data = node.signed_list_bytes()
        if data is None:
            return error_response("this node holds no signed list yet", 404)
        return HTTPResponse(
            data,
            200,
            {
                "Content-Type": "application/json",
                "Cache-Control": "max-age=60",
            },
        )


def parse_object(raw):
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise RegistrationError('the body must be {"url": "https://..."}')
    return body
