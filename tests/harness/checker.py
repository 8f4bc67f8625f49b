"""A Jepsen-style checker for keyed creations under faults, and the client loop that feeds it.

A fault test sends creating requests, each under its own Idempotency-Key, and retries every
answer that is not final (503, 409 "in flight", a dropped connection) with the same key and body,
as a clinic's integration engine does. At quiescence it reads back what the network holds and
asks ``KeyedCreations.verdict`` for:

- ``lost``: a key the network accepted (answered 2xx) whose object is not held, or not the one
  it answered, or (when the test says which objects have settled) never reached its end state,
  for a referral proposed or waitlisted;
- ``duplicated``: a key that made more than one object;
- ``doubled_matches``: an object with more than one live match (when the test reads matches);
- ``unexpected``: an object held under no key the client sent.

Each held object must say which key made it; the tests put the key in a field they control (a
referral's reason). Nothing here knows referrals: other fault tests reuse it for any creation.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import requests

# Answers a client retries with the same key: not created yet, or creation still running.
RETRIED_STATUSES = frozenset({409, 502, 503, 504})
IN_FLIGHT = "idempotency_key_in_flight"


@dataclass(frozen=True)
class Verdict:
    lost: dict[str, str | None]
    duplicated: dict[str, list[str]]
    unexpected: list[str]
    unanswered: list[str]
    doubled_matches: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Nothing lost, doubled or made up, and every key finally answered."""
        return not (self.lost or self.duplicated or self.unexpected or self.unanswered
                    or self.doubled_matches)


@dataclass
class KeyedCreations:
    """What a burst asked for and what it was answered, key by key (thread- and greenlet-safe)."""

    sent: set[str] = field(default_factory=set)
    accepted: dict[str, str] = field(default_factory=dict)  # key → id of the object answered
    answers: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, key: str, status: int | None, object_id: str | None = None) -> None:
        """One answer for ``key`` (None: no HTTP answer at all)."""
        with self._lock:
            self.sent.add(key)
            self.answers[key].append(status or 0)
            if object_id is not None:
                self.accepted[key] = object_id

    def retried(self) -> dict[str, list[int]]:
        """The keys that needed more than one attempt, with every answer (0: no HTTP answer)."""
        return {key: list(statuses) for key, statuses in self.answers.items() if len(statuses) > 1}

    def verdict(self, held: Iterable[tuple[str, str | None]], *, settled: Iterable[str] | None = None,
                live_matches: Iterable[tuple[str, str]] = ()) -> Verdict:
        """Judge ``held``: every (object id, the key that made it or None) the network holds.

        ``settled``: the ids of held objects that reached their end state (None: not checked);
        ``live_matches``: (match id, object id) of every live match the network holds.
        """
        by_key: dict[str, list[str]] = defaultdict(list)
        unexpected = []
        for object_id, key in held:
            if key in self.sent:
                by_key[key].append(object_id)
            else:
                unexpected.append(object_id)
        settled_ids = None if settled is None else set(settled)
        lost = {key: object_id for key, object_id in self.accepted.items()
                if object_id not in by_key.get(key, [])
                or (settled_ids is not None and object_id not in settled_ids)}
        duplicated = {key: ids for key, ids in by_key.items() if len(ids) > 1}
        unanswered = sorted(self.sent - set(self.accepted))
        matches: dict[str, list[str]] = defaultdict(list)
        for match_id, object_id in live_matches:
            matches[object_id].append(match_id)
        doubled = {object_id: ids for object_id, ids in matches.items() if len(ids) > 1}
        return Verdict(lost, duplicated, sorted(unexpected), unanswered, doubled)


def create_until_answered(post: Callable[[], requests.Response], key: str, log: KeyedCreations,
                          *, give_up_after: float = 90.0, pause: float = 0.5) -> str | None:
    """POST (same key, same body) until a final answer; returns the created object's id.

    Retries 409/502/503/504 and dropped connections, waiting ``Retry-After`` when one is given
    (at most 2 s, so a test stays short). A 409 that is not "in flight" (the key reused for
    another request) is final, as is any other 4xx: those return None.
    """
    deadline = time.monotonic() + give_up_after
    while time.monotonic() < deadline:
        try:
            response = post()
        except requests.RequestException:
            log.record(key, None)
            time.sleep(pause)
            continue
        if 200 <= response.status_code < 300:
            object_id = response.json()["id"]
            log.record(key, response.status_code, object_id)
            return object_id
        log.record(key, response.status_code)
        final_conflict = response.status_code == 409 and response.json().get("code") != IN_FLIGHT
        if response.status_code not in RETRIED_STATUSES or final_conflict:
            return None
        time.sleep(min(2.0, float(response.headers.get("Retry-After") or pause)))
    return None


def held_by_key(items: Iterable[Mapping],
                key_of: Callable[[Mapping], str | None]) -> list[tuple[str, str | None]]:
    """``(id, key)`` for each held object, the key read by ``key_of``."""
    return [(item["id"], key_of(item)) for item in items]
