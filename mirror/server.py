"""Serving the app with waitress, and stopping it gracefully.

On SIGTERM (what Docker and Heroku send) or SIGINT the server stops
accepting connections, lets the requests in flight finish and their
answers go out, stops its worker threads and returns, all within the
drain time.
"""

import logging
import signal
import threading
import time

import waitress
from waitress import wasyncore

log = logging.getLogger(__name__)

DRAIN_SECONDS = 8.0
POLL = 0.2


class Server:
    """A waitress server whose :meth:`serve` returns on :meth:`stop`."""

    def __init__(self, app, host, port, threads, **options):
        # Heroku's router and most proxies end TLS and say so in
        # X-Forwarded-Proto; trusting that header alone only decides the
        # scheme of URLs the page hands out. Client addresses are never
        # taken from headers, so registration limits cannot be dodged.
        options.setdefault("trusted_proxy", "*")
        options.setdefault("trusted_proxy_headers", {"x-forwarded-proto"})
        self.waitress = waitress.create_server(
            app, host=host, port=port, threads=threads, ident="mirror",
            **options)
        self.stopping = threading.Event()

    @property
    def port(self):
        return self.waitress.effective_port

    def stop(self, *_):
        self.stopping.set()

    def stop_on_signals(self):
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def serve(self, drain=DRAIN_SECONDS):
        """Serve until stopped, then drain; returns when all is done."""
        channels = self.waitress._map
        while not self.stopping.is_set():
            wasyncore.loop(timeout=POLL, map=channels, count=1)
        log.info("stopping: no new connections, finishing requests")
        self._stop_accepting()
        deadline = time.monotonic() + drain
        while self._busy() and time.monotonic() < deadline:
            wasyncore.loop(timeout=0.05, map=channels, count=1)
        self.waitress.task_dispatcher.shutdown(timeout=1)
        wasyncore.close_all(channels)

    def _stop_accepting(self):
        listener = self.waitress
        listener.accepting = False
        listener.del_channel()
        listener.socket.close()

    def _busy(self):
        tasks = self.waitress.task_dispatcher
        if tasks.active_count or tasks.queue:
            return True
        return any(getattr(channel, "requests", None)
                   or getattr(channel, "total_outbufs_len", 0)
                   for channel in list(self.waitress._map.values()))
