"""The outbox relay for real, on PostgreSQL and RabbitMQ: one statement tries the relays' lock and
reads the batch; a relay without the lock publishes nothing; the rows go out in id order, once; a
broker connection that goes silent holds the relay no longer than its confirm wait."""

from __future__ import annotations

import time
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
from kombu import Connection, Queue
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import sessionmaker

from services.kit import topology
from services.kit.db import WriterGate, make_engine, service_metadata
from services.kit.outbox import OutboxRelay
from services.kit.unit_of_work import UnitOfWork
from tests.harness.proxy import tcp_proxy


@pytest.fixture
def outbox(postgres_url):
    metadata = service_metadata()
    engine = make_engine(postgres_url)
    metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False, info={"metadata": metadata})
    yield factory, metadata, engine
    engine.dispose()


@pytest.fixture
def make_relay(outbox, rabbit_config):
    """Relays on the test's outbox with options of their own (``OutboxRelay``'s keywords; the
    broker's address by default), each stopped after the test."""
    factory, metadata, _engine = outbox
    made: list[OutboxRelay] = []

    def make(amqp_uri: str | None = None, **options) -> OutboxRelay:
        made.append(OutboxRelay(factory, metadata, WriterGate(False), amqp_uri or rabbit_config["AMQP_URI"],
                                source="relay-test", subscriptions={}, **options))
        return made[-1]

    yield make
    for relay in made:
        relay.stop()


@pytest.fixture
def relay(make_relay):
    return make_relay()


@pytest.fixture
def received(rabbit_config):
    """A queue bound to every event, and a function that takes what reached it so far."""
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        channel = conn.default_channel
        queue = Queue("relay-test-all", exchange=topology.EVENTS, routing_key="#", channel=channel)
        topology.EVENTS(channel).declare()
        queue.declare()

        def take() -> list[str]:
            ids = []
            while (message := queue.get(no_ack=True)) is not None:
                ids.append(message.properties["message_id"])
            return ids

        yield take


@contextmanager
def proxied_relay(make_relay, rabbit_config):
    """A relay whose broker connection runs through a proxy the test can freeze, with a confirm
    wait of 1 s; stopped before the proxy closes."""
    parts = urlsplit(rabbit_config["AMQP_URI"])
    with tcp_proxy(parts.port or 5672) as proxy:
        through_proxy = urlunsplit((parts.scheme, f"{parts.username}:{parts.password}@{proxy.address}",
                                    parts.path, "", ""))
        relay = make_relay(through_proxy, confirm_seconds=1.0)
        try:
            yield relay, proxy
        finally:
            relay.stop()


def stage(factory, count: int) -> list[str]:
    ids = []
    for n in range(count):
        uow = UnitOfWork(factory, source="relay-test")
        with uow:
            payload = {"consent_id": f"cn-{n}", "participant_id": f"pt-{n}"}
            ids.append(uow.publish("consent.expired", payload).id)
            uow.commit()
    return ids


def unsent(factory, metadata) -> int:
    outbox = metadata.tables["outbox"]
    with factory() as session:
        return session.execute(select(func.count()).select_from(outbox)
                               .where(outbox.c.published_at.is_(None))).scalar_one()


def test_a_relay_without_the_lock_publishes_nothing_then_all_in_order_once(outbox, relay, received):
    factory, metadata, engine = outbox
    staged = stage(factory, 3)
    with engine.connect() as other:  # another replica's relay, mid-batch
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": relay._lock_key})
        assert relay.relay_once() == 0
        assert unsent(factory, metadata) == 3
        other.rollback()

    assert relay.relay_once() == 3
    assert relay.relay_once() == 0
    assert unsent(factory, metadata) == 0
    assert received() == staged


def test_the_lock_and_the_batch_are_one_statement(outbox, relay, received):
    factory, _metadata, engine = outbox
    stage(factory, 2)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))

    assert relay.relay_once() == 2
    assert [sql.split()[0].upper() for sql in statements] == ["WITH", "UPDATE"]
    assert "pg_try_advisory_xact_lock" in statements[0]
    assert len(received()) == 2


@pytest.mark.timeout(120)  # a relay held for ever fails here, not at the suite's backstop
def test_a_connection_that_goes_silent_holds_the_relay_only_until_its_confirm_wait_ends(
        outbox, make_relay, rabbit_config, received, caplog):
    factory, metadata, _engine = outbox
    with proxied_relay(make_relay, rabbit_config) as (relay, proxy):
        try:
            first = stage(factory, 1)
            assert relay.relay_once() == 1  # the relay's connection is open and working

            proxy.freeze()  # the connection stays open, but nothing comes back: no confirm, no error
            second = stage(factory, 1)
            started = time.monotonic()
            assert relay.relay_once() == 0
            assert time.monotonic() - started < 30  # bounded by the confirm wait, not for ever
            assert unsent(factory, metadata) == 1
            assert "the broker did not answer within 1 s" in caplog.text

            proxy.thaw()
            assert relay.relay_once() == 1  # on a new connection
            assert unsent(factory, metadata) == 0
        finally:
            proxy.thaw()
    got = received()
    # The frozen publish may have reached the broker once its bytes were let through: the row
    # then went twice, in order, and the consumers' inbox keeps one.
    assert got[0] == first[0] and set(got[1:]) == set(second)


def stage_committed(factory, relay, count: int) -> list[str]:
    """Stage events as a service's unit of work does: each commit hands its rows to the relay."""
    ids = []
    for n in range(count):
        uow = UnitOfWork(factory, source="relay-test", on_commit=relay.committed)
        with uow:
            payload = {"consent_id": f"cd-{n}", "participant_id": f"pd-{n}"}
            ids.append(uow.publish("consent.expired", payload).id)
            uow.commit()
    return ids


def test_committed_rows_go_out_from_memory_and_are_marked_together(outbox, make_relay, received):
    factory, metadata, engine = outbox
    relay = make_relay(mark_after_seconds=0.5)
    relay.work()  # the first round sweeps the (empty) outbox, then publishes directly
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    first = stage_committed(factory, relay, 2)
    relay.work()
    second = stage_committed(factory, relay, 1)
    relay.work()
    assert received() == [*first, *second]  # published without reading the outbox
    assert [sql.split()[0].upper() for sql in statements] == ["INSERT"] * 3
    assert unsent(factory, metadata) == 3  # not marked yet: a crash now would send them again

    time.sleep(0.5)
    statements.clear()
    relay.work()
    assert [sql.split()[0].upper() for sql in statements] == ["UPDATE"]  # one for both commits
    assert unsent(factory, metadata) == 0


def test_the_sweep_leaves_young_rows_to_the_process_that_committed_them(outbox, relay, received):
    factory, metadata, engine = outbox
    relay.work()
    others = stage(factory, 2)  # committed by another replica, which has not published them yet
    assert relay.drain(aged=True) == 0
    assert received() == [] and unsent(factory, metadata) == 2

    outbox_table = metadata.tables["outbox"]
    with engine.begin() as conn:  # that replica died: its rows age past the sweep's wait
        conn.execute(outbox_table.update().values(created_at=func.now() - text("interval '1 minute'")))
    assert relay.drain(aged=True) == 2
    assert received() == others and unsent(factory, metadata) == 0


@pytest.mark.timeout(120)
def test_after_a_failed_publish_everything_goes_by_the_sweep_in_commit_order(
        outbox, make_relay, rabbit_config, received):
    factory, metadata, _engine = outbox
    with proxied_relay(make_relay, rabbit_config) as (relay, proxy):
        try:
            relay.work()
            first = stage_committed(factory, relay, 1)
            relay.work()
            assert received() == first

            proxy.freeze()
            held = stage_committed(factory, relay, 2)
            relay.work()  # the direct publish fails: the rows stay in the outbox
            assert unsent(factory, metadata) == 2
            proxy.thaw()
            later = stage_committed(factory, relay, 1)  # committed after the failure
            relay.work()  # a full sweep first: the held rows, then the later one, in id order
            assert unsent(factory, metadata) == 0
            relay.work()
        finally:
            proxy.thaw()
    got = received()
    # A frozen publish may have reached the broker once thawed: a duplicate the inbox skips.
    assert [event_id for n, event_id in enumerate(got) if event_id not in got[:n]] == [*held, *later]


def test_a_relay_that_does_not_publish_directly_sweeps_on_every_commit(outbox, make_relay, received):
    """SQLite's relay (one process per database) sweeps what each commit staged."""
    factory, metadata, engine = outbox
    relay = make_relay(direct=False)
    relay.work()
    staged = stage_committed(factory, relay, 2)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    relay.work()
    assert [sql.split()[0].upper() for sql in statements] == ["WITH", "UPDATE"]  # read, then mark
    assert received() == staged and unsent(factory, metadata) == 0
