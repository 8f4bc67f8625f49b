"""One mentor per Idempotency-Key, on SQLite and PostgreSQL: attempts at once register one mentor,
a repeat answers it, another body under the key is refused, and keys belong to one agency."""

from __future__ import annotations

import pytest

from services.kit.errors import Conflict
from tests.integration.matching.world import BRIDGE, HARBOR, mentor_body

ATTEMPTS = 6


def test_attempts_at_once_with_one_key_register_one_mentor(matching):
    body = mentor_body()
    replies = [matching.create_mentor.call_async(HARBOR, body, idempotency_key="mentor-1")
               for _ in range(ATTEMPTS)]
    ids = {reply.result()["id"] for reply in replies}
    assert len(ids) == 1
    assert [m["id"] for m in matching.list_mentors(HARBOR)["items"]] == list(ids)
    again = matching.create_mentor(HARBOR, body, idempotency_key="mentor-1")
    assert again["id"] in ids


def test_a_key_reused_for_another_mentor_is_a_conflict(matching):
    matching.create_mentor(HARBOR, mentor_body(), idempotency_key="mentor-2")
    with pytest.raises(Conflict):
        matching.create_mentor(HARBOR, mentor_body(display_name="Someone else."),
                               idempotency_key="mentor-2")
    assert len(matching.list_mentors(HARBOR)["items"]) == 1
    other = matching.create_mentor(BRIDGE, mentor_body(), idempotency_key="mentor-2")
    assert [m["id"] for m in matching.list_mentors(BRIDGE)["items"]] == [other["id"]]
