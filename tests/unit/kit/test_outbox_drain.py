from services.kit.outbox import OutboxRelay


def test_drain_stops_at_the_first_short_batch_without_an_empty_round_trip(monkeypatch):
    relay = OutboxRelay.__new__(OutboxRelay)
    relay._batch_size = 200
    batches = iter([200, 200, 37, 0])
    calls = []
    monkeypatch.setattr(relay, "relay_once", lambda aged=False: calls.append(1) or next(batches),
                        raising=False)
    assert relay.drain() == 437
    assert len(calls) == 3  # the 4th (empty) transaction is never made
