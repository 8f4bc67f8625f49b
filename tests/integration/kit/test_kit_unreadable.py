"""Messages a consumer cannot read are parked raw, never executed, and the stream goes on.

Each kind is published straight into a consumer queue with kombu, as a broken or
hostile publisher would: a pickle, plain text, a body that is not JSON, bytes not
valid in their declared encoding, an unknown content encoding, a compressed body.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle

import pytest
from kombu import Connection, Producer
from kombu.serialization import loads as kombu_loads
from nameko import serialization as nameko_serialization
from nameko.exceptions import ConfigurationError

from services.kit import broker, deadletters, topology
from services.kit.cli import main as cli_main
from services.kit.contract import new_event
from tests.integration.kit.kit_services import KitSink
from tests.integration.kit.test_kit_delivery import SINK_QUEUE, sink_effects
from tests.support import settle, wait_for


class _MakesADirectory:
    """A pickle that, if anyone ever loaded it, would create ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


def _event_bytes(consent_id: str) -> bytes:
    event = new_event("consent.expired", {"consent_id": consent_id, "participant_id": "p"}, source="t")
    return json.dumps(event.to_message()).encode()


KINDS = {
    "pickle": (lambda tmp: pickle.dumps(_MakesADirectory(str(tmp / "unpickled"))),
               "application/x-python-serialize", "binary", {},
               "unreadable: content type 'application/x-python-serialize' is not accepted"),
    "text": (lambda tmp: _event_bytes("c-text"), "text/plain", "utf-8", {},
             "unreadable: content type 'text/plain' is not accepted"),
    "not-json": (lambda tmp: b"{consent_id: c-not-json", "application/json", "utf-8", {},
                 "unreadable: body is not JSON"),
    "bad-utf8": (lambda tmp: b'{"id": "\xff\xfe"}', "application/json", "utf-8", {},
                 "unreadable: body is not valid utf-8"),
    "unknown-encoding": (lambda tmp: _event_bytes("c-rot13"), "application/json", "x-rot13", {},
                         "unreadable: content encoding 'x-rot13' is not supported"),
    "compressed": (lambda tmp: gzip.compress(_event_bytes("c-gzip")), "application/json", "utf-8",
                   {"compression": "application/x-gzip"},
                   "unreadable: compression 'application/x-gzip' is not supported"),
}


@pytest.fixture
def sink_config(rabbit_config, tmp_path):
    return {**rabbit_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'sink.db'}",
            "EVENT_RETRY": {"max_attempts": 2, "base_delay_ms": 20}}


def publish_raw(amqp_uri: str, body: bytes, content_type: str, content_encoding: str, headers) -> None:
    with Connection(amqp_uri) as conn:
        Producer(conn.channel()).publish(
            body, exchange=topology.REQUEUE, routing_key=SINK_QUEUE, content_type=content_type,
            content_encoding=content_encoding, headers=headers, message_id="m-unreadable",
        )


@pytest.mark.parametrize("kind", list(KINDS))
def test_unreadable_message_is_parked_raw_never_handled_and_the_stream_goes_on(
    sink_config, container_factory, tmp_path, capsys, kind
):
    make_body, content_type, content_encoding, headers, reason = KINDS[kind]
    body = make_body(tmp_path)
    container_factory(KitSink, sink_config).start()
    uri = sink_config["AMQP_URI"]

    publish_raw(uri, body, content_type, content_encoding, headers)
    good = new_event("consent.expired", {"consent_id": "c-after", "participant_id": "p"}, source="t")
    broker.publish(uri, good.to_message(), exchange=topology.EVENTS, routing_key=good.type)

    wait_for(lambda: sink_effects(sink_config).get("c-after"))
    with Connection(uri) as conn:
        [letter] = wait_for(lambda: deadletters.list_dead_letters(conn))
    assert letter.unreadable
    assert letter.consumer == SINK_QUEUE
    assert letter.error == reason
    assert letter.raw == body  # byte for byte
    assert letter.content_type == content_type
    assert letter.event_id == "m-unreadable"
    settle(0.3)
    assert set(sink_effects(sink_config)) == {"c-after"}  # never handled
    assert not (tmp_path / "unpickled").exists()  # never unpickled

    # The CLI lists it without deserializing it, and refuses to replay it.
    assert cli_main(["deadletters", "list", "--amqp-uri", uri]) == 0
    [listed] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed["unreadable"] is True and listed["error"] == reason
    assert listed["consumer"] == SINK_QUEUE and listed["size"] == len(body)
    assert cli_main(["deadletters", "replay", "--all", "--amqp-uri", uri]) == 1
    captured = capsys.readouterr()
    assert "unreadable" in captured.err and "not replayed" in captured.err
    with Connection(uri) as conn:
        assert [left.raw for left in deadletters.list_dead_letters(conn)] == [body]
    settle(0.3)
    assert set(sink_effects(sink_config)) == {"c-after"}


def test_strict_reading_accepts_json_only():
    class Raw:
        def __init__(self, body, content_type="application/json", content_encoding="utf-8", headers=None):
            self.body, self.content_type = body, content_type
            self.content_encoding, self.headers = content_encoding, headers or {}

    assert broker.read_json(Raw(b'{"a": 1}')) == {"a": 1}
    assert broker.read_json(Raw(b'{"a": 1}', "application/json; charset=utf-8", None)) == {"a": 1}
    with pytest.raises(broker.Unreadable, match="content type \\(none\\)"):
        broker.read_json(Raw(b'{"a": 1}', None))
    with pytest.raises(broker.Unreadable, match="application/x-yaml"):
        broker.read_json(Raw(b"a: 1", "application/x-yaml"))


def test_kombu_cannot_unpickle_even_when_an_accept_list_names_pickle(tmp_path):
    hostile = pickle.dumps(_MakesADirectory(str(tmp_path / "unpickled")))
    left = kombu_loads(hostile, "application/x-python-serialize", "binary",
                       accept={"application/x-python-serialize"})
    assert left == hostile  # no decoder: the bytes come back as they are
    assert not (tmp_path / "unpickled").exists()
    for unsafe in ("pickle", "yaml"):
        with pytest.raises(ConfigurationError):
            nameko_serialization.setup({"serializer": "json", "ACCEPT": ["json", unsafe]})
    assert kombu_loads(b'{"a": 1}', "application/json", "utf-8", accept={"application/json"}) == {"a": 1}
