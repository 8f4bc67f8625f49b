"""What a participant's text means, in every language the network speaks."""

from __future__ import annotations

import pytest

from services.engagement.domain import words
from services.engagement.domain.languages import available, catalog, resolve

VOCABULARY = words.Vocabulary()


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop! ", "PARAR", "Alto", "cancelar", "CANCELAR.",
                                  "توقف", "停止", "DỪNG", "dung", "unsubscribe"])
def test_stop_in_any_language_is_stop(text):
    assert VOCABULARY.read(text).kind == words.STOP


@pytest.mark.parametrize("text", ["HELP", "help?", "AYUDA", "مساعدة", "帮助", "giúp"])
def test_help_in_any_language_is_help(text):
    assert VOCABULARY.read(text).kind == words.HELP


@pytest.mark.parametrize("text", ["YES", "si", "Sí", "نعم", "是", "có"])
def test_yes_in_any_language_is_yes(text):
    assert VOCABULARY.read(text).kind == words.YES


@pytest.mark.parametrize("text", [
    "I want to kill myself", "thinking about SUICIDE tonight", "quiero morir", "Pienso en el suicidio",
    "أريد أن أموت", "我想自杀", "tôi muốn chết", "toi muon chet"])
def test_crisis_phrases_in_each_language(text):
    assert VOCABULARY.read(text).kind == words.CRISIS


def test_a_crisis_wins_over_stop():
    assert VOCABULARY.read("stop I want to die").kind == words.CRISIS


@pytest.mark.parametrize("text", ["stop by the meeting later", "I am helping my sister", "ok",
                                  "the suicidal ideation group"])
def test_keywords_count_only_as_the_whole_message(text):
    reading = VOCABULARY.read(text)
    if "suicidal" in text:
        assert reading.kind == words.CRISIS  # a crisis phrase counts anywhere
    else:
        assert reading.kind == words.WORD


@pytest.mark.parametrize(("text", "score"), [("1", 1), ("5", 5), (" 3 ", 3)])
def test_scores_from_one_to_five(text, score):
    assert VOCABULARY.read(text) == words.Reading(words.SCORE, score=score)


@pytest.mark.parametrize("text", ["0", "6", "10"])
def test_other_numbers_are_words(text):
    assert VOCABULARY.read(text).kind == words.WORD


def test_crisis_words_are_configurable_per_language():
    vocabulary = words.Vocabulary({"es": ["ya no aguanto"]})
    assert vocabulary.read("Ya no aguanto más").kind == words.CRISIS
    assert vocabulary.read("quiero morir").kind == words.WORD  # the configured list replaced the defaults
    assert vocabulary.read("I want to die").kind == words.CRISIS  # other languages keep theirs


def test_five_languages_one_of_them_right_to_left():
    assert {"en", "es", "ar", "zh", "vi"} <= set(available())
    assert catalog("ar").direction == "rtl"


def test_every_catalog_has_every_text_english_has():
    names = set(catalog("en").texts)
    for tag in available():
        assert set(catalog(tag).texts) == names, tag
        assert {"yes", "stop", "help", "crisis"} <= set(catalog(tag).words), tag


@pytest.mark.parametrize(("tag", "resolved"),
                         [("es-MX", "es"), ("zh-Hans", "zh"), ("ko", "en"), (None, "en")])
def test_a_language_falls_back_to_its_primary_tag_then_english(tag, resolved):
    assert resolve(tag) == resolved


@pytest.mark.parametrize("tag", ["en", "es", "ar", "zh", "vi"])
def test_the_crisis_answer_names_988_in_each_language(tag):
    assert "988" in catalog(tag).text("crisis")
    assert "988" in catalog(tag).text("help", group="Bridge")
    assert "Bridge" in catalog(tag).text("help", group="Bridge")  # who is writing
