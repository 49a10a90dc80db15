"""Optional Docker Hub credentials, for the higher rate limit.

The username and access token are exchanged for a short-lived bearer
token, renewed shortly before it expires or when Docker Hub answers 401.
If the exchange fails the mirror goes on anonymously and tries again
later.
"""

import base64
import json
import logging
import threading
import time

import requests

log = logging.getLogger(__name__)

RENEW_EARLY = 60.0
DEFAULT_LIFETIME = 300.0
RETRY_LOGIN = 300.0


def token_expiry(token, now):
    """When a JWT expires, from its ``exp`` claim (not verified)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(
            payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, TypeError, ValueError):
        return now + DEFAULT_LIFETIME


class Credentials:
    """Bearer tokens for one Docker Hub account."""

    def __init__(self, base_url, username, secret, session,
                 clock=time.time):
        self.url = base_url.rstrip("/") + "/v2/auth/token"
        self.username = username
        self.secret = secret
        self.session = session
        self.clock = clock
        self._token = None
        self._expires = 0.0
        self._next_try = 0.0
        self._lock = threading.Lock()

    def headers(self):
        """The Authorization header, or none while logged out."""
        with self._lock:
            now = self.clock()
            if self._token is None or now > self._expires - RENEW_EARLY:
                self._login(now)
            if self._token is None:
                return {}
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self):
        with self._lock:
            self._token = None
            self._next_try = 0.0

    def _login(self, now):
        self._token = None
        if now < self._next_try:
            return
        try:
            answer = self.session.post(
                self.url, json={"identifier": self.username,
                                "secret": self.secret},
                timeout=(3, 5), allow_redirects=False)
            token = answer.json().get("access_token")
        except (requests.RequestException, ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            self._next_try = now + RETRY_LOGIN
            log.warning("Docker Hub login as %s failed; going on "
                        "anonymously", self.username)
            return
        self._token = token
        self._expires = token_expiry(token, now)
        log.info("logged in to Docker Hub as %s", self.username)
