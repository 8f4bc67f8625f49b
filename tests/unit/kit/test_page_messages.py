"""A page of any list answers the same way: its items, each by the item's schema, and the next cursor."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.kit.messages import page_of


class Entry(Schema):
    seq = fields.Integer(required=True)


EntryPage = page_of(Entry, "EntryPage")


def test_a_page_dumps_its_items_through_the_item_schema_and_the_next_cursor():
    dumped = EntryPage().dump({"items": [{"seq": 1, "hidden": "x"}, {"seq": 2}], "next_page": "c2"})

    assert dumped == {"items": [{"seq": 1}, {"seq": 2}], "next_page": "c2"}


def test_the_last_page_has_a_null_cursor():
    assert EntryPage().dump({"items": []}) == {"items": []}
    assert EntryPage().dump({"items": [], "next_page": None}) == {"items": [], "next_page": None}


def test_a_page_keeps_its_name_and_belongs_to_the_module_of_its_items():
    assert EntryPage.__name__ == "EntryPage"
    assert EntryPage.__module__ == Entry.__module__
    assert EntryPage().fields["items"].required
