"""The gateway's ledger export: page after page of the consent service's ledger, as JSON lines,
up to the head the ledger had when the export started."""

from __future__ import annotations

import json

import pytest

from gateway.handlers import ledger_export_lines
from services.kit.errors import ServiceUnavailable


class Consent:
    """The ``export_ledger`` RPC over a ledger of ``rows`` entries that grows while it is read."""

    def __init__(self, rows: int) -> None:
        self.rows, self.calls = rows, []

    def export_ledger(self, after_seq, limit, up_to):
        self.calls.append((after_seq, limit, up_to))
        head = self.rows if up_to is None else up_to
        start = after_seq or 0
        seqs = range(start + 1, min(start + limit, self.rows) + 1)
        items = [{"seq": seq, "hash": f"h{seq}"} for seq in seqs]
        self.rows += 1  # someone appends meanwhile
        return {"items": [i for i in items if i["seq"] <= head], "head": head}


def test_pages_are_read_up_to_the_head_the_export_started_at():
    consent = Consent(10)
    lines = b"".join(ledger_export_lines(consent, page=4)).decode().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, 11))
    assert consent.calls == [(None, 4, None), (4, 4, 10), (8, 4, 10)]


def test_the_first_page_is_read_before_anything_is_sent():
    class Down:
        def export_ledger(self, *args):
            raise ServiceUnavailable("The consent service did not answer in time.")

    with pytest.raises(ServiceUnavailable):
        ledger_export_lines(Down())


def test_an_empty_ledger_exports_nothing():
    assert b"".join(ledger_export_lines(Consent(0), page=4)) == b""
