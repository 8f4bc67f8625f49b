"""Key changes broadcast to every gateway process, so each drops the cached key rows they make wrong.

``referral-network.gateway-keys`` is a fanout exchange. Each gateway process binds its own
exclusive, auto-delete queue to it (gone with the process's connection) and hears every
invalidation published after it bound; whoever changes a key or an agency (a gateway's route, the
``referral-network keys`` command) publishes one after the change is committed. A body carries ids
only, ``{"key_ids": [...], "agency_ids": [...]}``: never a secret, a digest or a name.

The listener runs on a connection of its own with AMQP heartbeats (``HEARTBEAT_SECONDS``), so a
broker that went away, even silently, is noticed within about two heartbeats. From the moment it
is lost until the queue is bound again, the process's key cache is not trusted
(``KeyCache.listening``): each request reads its row.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterable

from kombu import Connection, Exchange, Queue
from nameko.extensions import DependencyProvider

from gateway.key_cache import KeyCache, cache_seconds, invalidation, read_invalidation
from services.kit import broker

log = logging.getLogger(__name__)

KEY_CHANGES = Exchange("referral-network.gateway-keys", type="fanout", durable=True)
HEARTBEAT_SECONDS = 5
# The longest a change waits for the broker to take its broadcast.
ANNOUNCE_TIMEOUT_SECONDS = 5.0
# How long one wait for a delivery lasts before the heartbeats are checked again.
_POLL_SECONDS = 1.0
# Between attempts to reach the broker again: 1, 2, ... up to 5 s.
_RETRY_MAX_SECONDS = 5.0


def connection_name() -> str:
    """How the listener's connection is named on the broker (its management pages): the process."""
    return f"gateway key cache {os.getpid()}"


def announce(amqp_uri: str, key_ids: Iterable[str] = (), agency_ids: Iterable[str] = ()) -> None:
    """Broadcast that the entries of these keys and agencies are wrong now; waits for the broker's
    confirm. Raises when the broker does not take it (and ``ValueError`` for a malformed id)."""
    body = invalidation(key_ids, agency_ids)
    with broker.connect(amqp_uri) as connection:
        producer = connection.Producer()
        producer.publish(json.dumps(body), exchange=KEY_CHANGES, routing_key="", declare=[KEY_CHANGES],
                         content_type=broker.JSON, content_encoding="utf-8", delivery_mode=1,
                         retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2,
                                                   "interval_step": 0.5},
                         # A broker that took the connection but never confirms must not hold
                         # the revoke call: the change is committed, and the caller's own
                         # process has dropped its entries already.
                         timeout=ANNOUNCE_TIMEOUT_SECONDS, confirm_timeout=ANNOUNCE_TIMEOUT_SECONDS)


class InvalidationListener:
    """Hears the key changes broadcast to every gateway and applies them to ``cache``."""

    def __init__(self, amqp_uri: str, cache: KeyCache, *, heartbeat: float = HEARTBEAT_SECONDS) -> None:
        self.amqp_uri = amqp_uri
        self.cache = cache
        self.heartbeat = heartbeat
        self._stopped = False
        self._connection: Connection | None = None

    def run(self) -> None:
        """Listen until ``stop``, connecting again whenever the broker is lost."""
        failures = 0
        while not self._stopped:
            try:
                self._listen()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - any failure means the broadcasts are not heard
                failures += 1
                if not self._stopped and failures == 1:
                    log.warning("the key cache lost the broker (%s); every request reads its key "
                                "until it is back", type(exc).__name__)
            finally:
                self.cache.listening(False)
            if not self._stopped:
                time.sleep(min(float(failures or 1), _RETRY_MAX_SECONDS))

    def stop(self) -> None:
        self._stopped = True
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # noqa: BLE001 - closing a connection that is already gone
                pass

    def _listen(self) -> None:
        with Connection(self.amqp_uri, heartbeat=self.heartbeat, connect_timeout=5,
                        transport_options={"client_properties": {"connection_name": connection_name()}},
                        ) as connection:
            self._connection = connection
            connection.connect()
            queue = Queue(f"gateway.key-changes.{uuid.uuid4().hex[:12]}", exchange=KEY_CHANGES,
                          routing_key="", exclusive=True, auto_delete=True, durable=False)
            with connection.Consumer([queue], on_message=self._on_message, no_ack=True):
                # Bound from here on: every change published from now reaches this process.
                self.cache.listening(True)
                log.info("the key cache hears key changes")
                while not self._stopped:
                    try:
                        connection.drain_events(timeout=_POLL_SECONDS)
                    except TimeoutError:
                        connection.heartbeat_check()

    def _on_message(self, message) -> None:
        try:
            key_ids, agency_ids = read_invalidation(broker.read_json(message))
        except ValueError as exc:  # broker.Unreadable is one
            # Whatever it meant to say, the safe reading is that anything may have changed.
            self.cache.forget_all()
            log.warning("an unreadable key change dropped the whole key cache: %s", str(exc)[:200])
            return
        self.cache.forget(key_ids, agency_ids)


class KeyChanges:
    """What a worker is given: the process's key cache, and ``changed`` for a change it made."""

    def __init__(self, cache: KeyCache, amqp_uri: str) -> None:
        self.cache = cache
        self.amqp_uri = amqp_uri

    def changed(self, key_ids: Iterable[str] = (), agency_ids: Iterable[str] = ()) -> None:
        """A change to these keys or agencies was committed: drop them here, then tell every other
        gateway. When the broadcast cannot be sent the change stands; the other processes' entries
        end within ``KEY_CACHE_SECONDS``."""
        key_ids, agency_ids = list(key_ids), list(agency_ids)
        self.cache.forget(key_ids, agency_ids)
        try:
            announce(self.amqp_uri, key_ids, agency_ids)
        except Exception as exc:  # noqa: BLE001 - the change is committed either way
            log.warning("a key change could not be broadcast to the other gateway processes (%s); "
                        "their cached entries end within KEY_CACHE_SECONDS", type(exc).__name__)


class KeyCacheProvider(DependencyProvider):
    """The gateway process's ``KeyCache`` (config ``KEY_CACHE_SECONDS``) and its listener."""

    def __init__(self) -> None:
        self.cache: KeyCache | None = None
        self.listener: InvalidationListener | None = None
        self._thread = None

    def setup(self) -> None:
        config = self.container.config
        self.amqp_uri = config["AMQP_URI"]
        self.cache = KeyCache(cache_seconds(config.get("KEY_CACHE_SECONDS")))
        if self.cache.enabled:
            self.listener = InvalidationListener(self.amqp_uri, self.cache)

    def start(self) -> None:
        if self.listener is not None:
            self._thread = self.container.spawn_managed_thread(self.listener.run,
                                                               identifier="key cache invalidations")

    def stop(self) -> None:
        self._shutdown()

    def kill(self) -> None:
        self._shutdown()

    def _shutdown(self) -> None:
        if self.listener is not None:
            self.listener.stop()
        if self._thread is not None:
            self._thread.kill()
            self._thread = None

    def get_dependency(self, worker_ctx) -> KeyChanges:
        return KeyChanges(self.cache, self.amqp_uri)
