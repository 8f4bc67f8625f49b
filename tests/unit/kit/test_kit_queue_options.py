"""Quorum or classic queues, chosen by configuration."""

from __future__ import annotations

import pytest

from services.kit import topology
from services.kit.topology import QueueOptions


def test_classic_by_default_declares_plain_durable_queues():
    options = QueueOptions.from_config({})
    assert options == topology.CLASSIC
    assert topology.consumer_queue("referrals.on_match", ["match.proposed"], options).queue_arguments is None
    assert topology.dead_letters(options).queue_arguments is None


def test_quorum_queues_carry_a_delivery_limit_and_dead_letter_at_least_once():
    options = QueueOptions.from_config({"QUEUE_TYPE": "Quorum", "QUEUE_DELIVERY_LIMIT": "7"})
    arguments = topology.consumer_queue("referrals.on_match", ["match.proposed"], options).queue_arguments
    assert arguments == {
        "x-queue-type": "quorum", "x-delivery-limit": 7, "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": topology.DEAD_LETTERS.name,
        "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish",
    }
    # The dead letters are replicated too, but never dead-letter themselves.
    assert topology.dead_letters(options).queue_arguments == {"x-queue-type": "quorum"}
    delay = topology.delay_queue(1000, options).queue_arguments
    assert delay["x-queue-type"] == "quorum" and delay["x-message-ttl"] == 1000
    assert delay["x-dead-letter-exchange"] == topology.REQUEUE.name and "x-delivery-limit" not in delay


@pytest.mark.parametrize("config", [{"QUEUE_TYPE": "stream"}, {"QUEUE_DELIVERY_LIMIT": "-1"},
                                    {"QUEUE_DELIVERY_LIMIT": 0}])
def test_an_unknown_queue_type_or_a_limit_below_one_is_refused(config):
    with pytest.raises(ValueError, match="QUEUE_"):
        QueueOptions.from_config(config)
