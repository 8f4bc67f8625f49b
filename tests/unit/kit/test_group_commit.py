"""GroupCommit: the events workers hold at once share one batch; a failed batch leaves each worker
to handle its own event alone, and nobody is left waiting."""

from __future__ import annotations

import eventlet
import pytest

from services.kit.group_commit import GroupCommit

GUARD_SECONDS = 10  # a test that hangs fails here instead; nothing is timed


class Handlers:
    """Batch and single handlers that record what they were given; an event named ``bad`` fails."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.alone: list[str] = []

    def batch(self, events):
        self.batches.append(list(events))
        eventlet.sleep(0)  # a real batch waits on its database: let others arrive meanwhile
        if "bad" in events:
            raise RuntimeError("the batch failed")
        return [f"{event}:batched" for event in events]

    def one(self, event):
        self.alone.append(event)
        if event == "bad":
            raise RuntimeError("this event cannot be handled")
        return f"{event}:alone"


def handle_all(group: GroupCommit, events: list[str]) -> list:
    """Each event from a worker of its own, as nameko spawns them; their answers or errors."""
    threads = [eventlet.spawn(group.handle, event) for event in events]
    answers = []
    with eventlet.Timeout(GUARD_SECONDS):
        for thread in threads:
            try:
                answers.append(thread.wait())
            except RuntimeError as exc:
                answers.append(exc)
    return answers


def test_events_handed_in_together_share_one_batch_and_each_worker_gets_its_own_answer():
    handlers = Handlers()
    group = GroupCommit(handlers.batch, handlers.one, window_seconds=GUARD_SECONDS * 2, max_batch=4)
    answers = handle_all(group, ["a", "b", "c", "d"])
    assert answers == ["a:batched", "b:batched", "c:batched", "d:batched"]
    assert handlers.batches == [["a", "b", "c", "d"]]  # full at four: the window was not waited out
    assert handlers.alone == [] and (group.batches, group.batched) == (1, 4)


def test_a_lone_event_is_handled_once_the_window_passes():
    handlers = Handlers()
    group = GroupCommit(handlers.batch, handlers.one, window_seconds=0.01, max_batch=10)
    assert handle_all(group, ["a"]) == ["a:batched"]
    assert handlers.batches == [["a"]]


def test_events_arriving_while_a_batch_commits_form_the_next_batch():
    committing, batches = eventlet.event.Event(), []

    def batch(events):
        batches.append(list(events))
        if len(batches) == 1:
            committing.wait()  # the first batch's commit takes a while
        return [f"{event}:batched" for event in events]

    group = GroupCommit(batch, Handlers().one, window_seconds=GUARD_SECONDS * 2, max_batch=2)
    first = [eventlet.spawn(group.handle, event) for event in ("a", "b")]
    eventlet.sleep(0)
    eventlet.sleep(0)
    assert batches == [["a", "b"]]
    second = [eventlet.spawn(group.handle, event) for event in ("c", "d")]
    with eventlet.Timeout(GUARD_SECONDS):
        assert [thread.wait() for thread in second] == ["c:batched", "d:batched"]
        committing.send()
        assert [thread.wait() for thread in first] == ["a:batched", "b:batched"]
    assert batches == [["a", "b"], ["c", "d"]]


def test_a_failed_batch_leaves_each_event_to_its_own_transaction_and_only_the_bad_one_fails():
    handlers = Handlers()
    group = GroupCommit(handlers.batch, handlers.one, window_seconds=GUARD_SECONDS * 2, max_batch=3)
    answers = handle_all(group, ["a", "bad", "c"])
    assert answers[0] == "a:alone" and answers[2] == "c:alone"
    assert isinstance(answers[1], RuntimeError) and str(answers[1]) == "this event cannot be handled"
    assert handlers.batches == [["a", "bad", "c"]] and sorted(handlers.alone) == ["a", "bad", "c"]
    assert group.batches == 0


def test_a_lone_event_whose_batch_fails_fails_with_the_batch_error_and_is_not_run_twice():
    handlers = Handlers()
    group = GroupCommit(handlers.batch, handlers.one, window_seconds=0.01, max_batch=10)
    [answer] = handle_all(group, ["bad"])
    assert str(answer) == "the batch failed" and handlers.alone == []


def test_followers_of_a_leader_killed_mid_batch_handle_their_events_alone():
    stalled = eventlet.event.Event()
    alone: list[str] = []

    def batch(events):
        stalled.wait()  # the leader's database never answers
        return [True] * len(events)

    def one(event):
        alone.append(event)
        return "alone"

    group = GroupCommit(batch, one, window_seconds=GUARD_SECONDS * 2, max_batch=3)
    leader = eventlet.spawn(group.handle, "a")
    followers = [eventlet.spawn(group.handle, event) for event in ("b", "c")]
    eventlet.sleep(0)
    eventlet.sleep(0)
    leader.kill()
    with eventlet.Timeout(GUARD_SECONDS):
        assert [f.wait() for f in followers] == ["alone", "alone"]
    assert alone == ["b", "c"]


@pytest.mark.parametrize("window, max_batch", [(0, 10), (5.0, 1)])
def test_without_a_window_or_with_batches_of_one_each_event_is_its_own_batch(window, max_batch):
    handlers = Handlers()
    group = GroupCommit(handlers.batch, handlers.one, window_seconds=window, max_batch=max_batch)
    assert handle_all(group, ["a"]) == ["a:batched"]
    assert handlers.batches == [["a"]]
