"""The reliability kit against a real RabbitMQ, on SQLite and PostgreSQL.

Outbox: rollbacks publish nothing, crashes delay but never lose. Inbox: duplicates
take effect once. Retries and dead letters: a poison event is parked, the stream flows.
"""

from __future__ import annotations

import json

import pytest
from kombu import Connection
from nameko.exceptions import RemoteError
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from services.kit import broker, deadletters, topology
from services.kit.cli import main as cli_main
from services.kit.contract import new_event
from services.kit.db import make_engine
from services.kit.unit_of_work import UnitOfWork
from tests.integration.kit.kit_services import (
    BoomError,
    KitProducer,
    KitSink,
    expire_consent,
    producer_metadata,
)
from tests.support import service_proxy, settle, wait_for

SINK_QUEUE = "kitsink.on_consent_expired"


@pytest.fixture
def config(rabbit_config, database_url):
    return {
        **rabbit_config,
        "DATABASE_URL": database_url,
        "OUTBOX_POLL_SECONDS": 0.2,
        "EVENT_RETRY": {"max_attempts": 5, "base_delay_ms": 20},
    }


@pytest.fixture
def sink_config(config, tmp_path, request):
    """The sink has its own database (each service owns one)."""
    if config["DATABASE_URL"].startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'sink.db'}"
    else:
        url = request.getfixturevalue("postgres_databases")()
    return {**config, "DATABASE_URL": url}


def rpc(config, service):
    return service_proxy(service, config)


def sink_effects(config) -> dict[str, int]:
    with rpc(config, "kitsink") as sink:
        return sink.effects()


def declare_sink_queue(config) -> None:
    with Connection(config["AMQP_URI"]) as conn:
        topology.declare(conn, {SINK_QUEUE: ("consent.expired",)})


def test_rollback_after_writing_an_event_publishes_nothing(config, sink_config, container_factory):
    container_factory(KitSink, sink_config).start()
    container_factory(KitProducer, config).start()
    with rpc(config, "kitproducer") as producer:
        with pytest.raises(RemoteError) as failure:
            producer.expire(["c-rolled-back"], fail_after_write=True)
        assert failure.value.exc_type == BoomError.__name__
        producer.expire(["c-committed"])
    wait_for(lambda: sink_effects(sink_config).get("c-committed"))
    settle(0.5)
    assert "c-rolled-back" not in sink_effects(sink_config)


def test_event_committed_before_a_crash_is_published_after_restart(config, sink_config, container_factory):
    # The producer "dies" between commit and publish: its rows are committed, no relay ran.
    engine = make_engine(config["DATABASE_URL"])
    producer_metadata.create_all(engine)
    factory = sessionmaker(engine, info={"metadata": producer_metadata})
    with UnitOfWork(factory, source="kitproducer") as uow:
        expire_consent(uow, "c-crash")
        uow.commit()
    engine.dispose()
    declare_sink_queue(config)

    container_factory(KitProducer, config).start()  # restart: the relay finds the row
    container_factory(KitSink, sink_config).start()
    assert wait_for(lambda: sink_effects(sink_config).get("c-crash")) == 1


def test_publish_confirmed_but_not_marked_takes_effect_once(config, sink_config, container_factory):
    container_factory(KitSink, sink_config).start()
    producer = container_factory(KitProducer, config)
    producer.start()
    with rpc(config, "kitproducer") as proxy:
        proxy.expire(["c-twice"])
    wait_for(lambda: sink_effects(sink_config).get("c-twice"))
    producer.stop()
    # A crash after the broker confirmed but before the row was marked sent:
    engine = make_engine(config["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(update(producer_metadata.tables["outbox"]).values(published_at=None))
    engine.dispose()
    container_factory(KitProducer, config).start()
    engine = make_engine(config["DATABASE_URL"])
    outbox = producer_metadata.tables["outbox"]
    wait_for(lambda: _all_published(engine, outbox))
    engine.dispose()
    settle(0.5)
    assert sink_effects(sink_config)["c-twice"] == 1


def _all_published(engine, outbox) -> bool:
    with engine.connect() as conn:
        return all(row.published_at for row in conn.execute(select(outbox.c.published_at)))


def test_same_event_delivered_twice_has_one_effect(config, sink_config, container_factory):
    container_factory(KitSink, sink_config).start()
    event = new_event("consent.expired", {"consent_id": "c-dup", "participant_id": "p"}, source="test")
    for _ in range(3):
        broker.publish(
            config["AMQP_URI"], event.to_message(), exchange=topology.EVENTS, routing_key=event.type
        )
    wait_for(lambda: sink_effects(sink_config).get("c-dup"))
    settle(0.5)
    assert sink_effects(sink_config)["c-dup"] == 1


def test_poison_event_is_parked_while_the_rest_flow_and_replay_delivers_it(
    config, sink_config, container_factory, capsys
):
    container_factory(KitSink, sink_config).start()
    container_factory(KitProducer, config).start()
    with rpc(sink_config, "kitsink") as sink:
        sink.poison("c-poison", True)
    good = [f"c-{n}" for n in range(200)]
    with rpc(config, "kitproducer") as producer:
        producer.expire(good[:100] + ["c-poison"] + good[100:])

    wait_for(lambda: len(sink_effects(sink_config)) == 200, timeout=30)
    with Connection(config["AMQP_URI"]) as conn:
        letters = wait_for(lambda: deadletters.list_dead_letters(conn))
    assert len(letters) == 1
    [letter] = letters
    assert letter.consumer == SINK_QUEUE
    assert letter.attempts == 5
    assert "BoomError" in letter.error and "c-poison" in letter.error
    assert json.loads(letter.body)["payload"]["consent_id"] == "c-poison"
    assert set(sink_effects(sink_config)) == set(good)

    # Listing is read-only: the letter is still there; the CLI shows it too.
    assert cli_main(["deadletters", "list", "--amqp-uri", config["AMQP_URI"]]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [entry["event_id"] for entry in listed] == [letter.event_id]
    assert "payload" not in listed[0]  # the summary carries ids, never the event body
    with rpc(sink_config, "kitsink") as sink:
        sink.poison("c-poison", False)
    assert cli_main(["deadletters", "replay", "--all", "--amqp-uri", config["AMQP_URI"]]) == 0
    assert wait_for(lambda: sink_effects(sink_config).get("c-poison")) == 1
    with Connection(config["AMQP_URI"]) as conn:
        assert deadletters.list_dead_letters(conn) == []


def test_events_published_before_the_consumer_ever_started_all_arrive(
    config, sink_config, container_factory
):
    # The producer's relay declares every queue of the product's topology; here the sink's.
    declare_sink_queue(config)
    container_factory(KitProducer, config).start()
    ids = [f"c-early-{n}" for n in range(20)]
    with rpc(config, "kitproducer") as producer:
        producer.expire(ids)
    settle(0.5)
    container_factory(KitSink, sink_config).start()
    wait_for(lambda: set(sink_effects(sink_config)) == set(ids))


def test_outbox_row_committed_after_a_higher_numbered_one_is_published(
    config, sink_config, container_factory
):
    container_factory(KitSink, sink_config).start()
    container_factory(KitProducer, config).start()
    with rpc(config, "kitproducer") as producer:
        producer.expire(["c-high"])
    wait_for(lambda: sink_effects(sink_config).get("c-high"))
    # A long transaction that took a lower id commits only now.
    engine = make_engine(config["DATABASE_URL"])
    outbox = producer_metadata.tables["outbox"]
    event = new_event("consent.expired", {"consent_id": "c-low", "participant_id": "p"}, source="kit")
    with engine.begin() as conn:
        high_id = conn.execute(select(outbox.c.id)).scalar_one()
        conn.execute(outbox.insert().values(
            id=high_id - 1 if high_id > 1 else 0, event_id=event.id, type=event.type,
            message=json.dumps(event.to_message()),
            created_at=event.occurred_at,
        ))
    engine.dispose()
    assert wait_for(lambda: sink_effects(sink_config).get("c-low")) == 1


@pytest.mark.parametrize("body", [
    {"id": "not-a-uuid", "type": "consent.expired"},
    {**new_event("consent.expired", {"consent_id": "x", "participant_id": "p"}, source="t").to_message(),
     "type": "consent.exploded"},
    {**new_event("consent.expired", {"consent_id": "x", "participant_id": "p"}, source="t").to_message(),
     "payload": {"consent_id": "x", "participant_id": "p", "given_name": "Ana"}},
])
def test_invalid_or_unknown_event_is_parked_without_blocking(config, sink_config, container_factory, body):
    container_factory(KitSink, sink_config).start()
    broker.publish(config["AMQP_URI"], body, exchange=topology.REQUEUE, routing_key=SINK_QUEUE)
    good = new_event("consent.expired", {"consent_id": "c-after", "participant_id": "p"}, source="t")
    broker.publish(config["AMQP_URI"], good.to_message(), exchange=topology.EVENTS, routing_key=good.type)
    wait_for(lambda: sink_effects(sink_config).get("c-after"))
    with Connection(config["AMQP_URI"]) as conn:
        [letter] = wait_for(lambda: deadletters.list_dead_letters(conn))
    assert letter.consumer == SINK_QUEUE
    assert "ContractError" in letter.error
