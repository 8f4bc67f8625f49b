"""Events that arrive together, committed together.

A consumer whose handler is cheap next to its transaction (a read model's append and
projection) spends most of an event's cost on what every transaction pays: ``BEGIN``, its locks,
``COMMIT``, on SQLite an fsync, and the round trips of statements run once per event where one
statement could take several. ``GroupCommit`` hands the events that several workers of one
process hold at the same moment to one transaction and one batch handler:

- the first worker to arrive leads: it waits up to ``window_seconds`` for others, or until
  ``max_batch`` events are waiting, then runs the batch handler on all of them in one unit of
  work and commits;
- every worker returns only once the transaction that holds its event has committed, so its
  message is acknowledged only then, as with one event per transaction: a process that dies
  before the commit leaves every event of the batch on the broker, to be delivered again;
- when the batch fails, nothing of it is committed and each worker handles its own event alone,
  in a transaction of its own: an event that cannot be handled fails (is retried, then parked)
  by itself, and the others commit.

With few events in flight a batch holds one, late by at most the window; the window is for
consumers nobody waits on (a read model), never for a request's path. ``max_batch`` is the
process's worker count: the broker never hands it more unacknowledged events than that, so a
full batch is every event it has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventlet import Timeout
from eventlet.event import Event as GreenEvent

# What a follower hears when the batch holding its event failed: handle it alone.
_ALONE = object()


class _Waiting:
    __slots__ = ("event", "answer")

    def __init__(self, event: Any) -> None:
        self.event = event
        self.answer = GreenEvent()


class GroupCommit:
    """``handle(event)`` from any number of workers; see the module's docstring.

    ``run_batch(events)`` handles and commits them in one transaction, answering one value per
    event in their order; ``run_alone(event)`` handles and commits one event by itself.
    """

    def __init__(self, run_batch: Callable[[Sequence[Any]], Sequence[Any]], run_alone: Callable[[Any], Any],
                 *, window_seconds: float, max_batch: int) -> None:
        self._run_batch = run_batch
        self._run_alone = run_alone
        self.window_seconds = max(float(window_seconds), 0.0)
        self.max_batch = max(int(max_batch), 1)
        self._open: list[_Waiting] = []
        self._full: GreenEvent | None = None
        self.batches = 0  # committed batches, and the events they held: for tests and counts
        self.batched = 0

    def handle(self, event: Any) -> Any:
        """``event`` handled and committed, with whatever other workers handed in meanwhile;
        raises what handling it alone raised."""
        mine = _Waiting(event)
        self._open.append(mine)
        if len(self._open) == 1:
            return self._lead(mine)
        if len(self._open) >= self.max_batch and self._full is not None and not self._full.ready():
            self._full.send()
        answer = mine.answer.wait()
        return self._run_alone(event) if answer is _ALONE else answer

    def _lead(self, mine: _Waiting) -> Any:
        if self.max_batch > 1 and self.window_seconds > 0:
            self._full = GreenEvent()
            with Timeout(self.window_seconds, False):
                self._full.wait()
        batch, self._open, self._full = self._open, [], None
        answers: Sequence[Any] | None = None
        try:
            answers = self._run_batch([waiting.event for waiting in batch])
        except Exception:
            if len(batch) == 1:
                raise
        finally:
            # Whatever happened, nobody is left waiting: a follower of a batch that did not
            # commit (an error, or this leader killed) handles its event alone.
            for index, waiting in enumerate(batch[1:], start=1):
                waiting.answer.send(_ALONE if answers is None else answers[index])
        if answers is None:
            return self._run_alone(mine.event)
        self.batches += 1
        self.batched += len(batch)
        return answers[0]
