"""One schema instance per class serves every call: it keeps nothing from one load to the next."""

from __future__ import annotations

import eventlet
import pytest
from marshmallow import Schema, ValidationError, fields, validate

from services.kit.messages import shared


class Answer(Schema):
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    word = fields.String()


def test_a_class_has_one_shared_instance():
    assert shared(Answer) is shared(Answer)
    assert isinstance(shared(Answer), Answer)


def test_loads_at_once_on_one_instance_each_get_their_own_answer_and_errors():
    def load(n: int):
        eventlet.sleep(0)
        try:
            return shared(Answer).load({"score": n, "word": f"w{n}"})
        except ValidationError as exc:
            return exc.messages

    pool = eventlet.GreenPool()
    answers = list(pool.imap(load, range(10)))

    assert answers[1:6] == [{"score": n, "word": f"w{n}"} for n in range(1, 6)]
    assert all(set(errors) == {"score"} for errors in answers[:1] + answers[6:])
    with pytest.raises(ValidationError):
        shared(Answer).load({"word": "nothing else"})
    assert shared(Answer).load({"score": 3}) == {"score": 3}
