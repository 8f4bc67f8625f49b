"""The BARC-10 page a participant's link opens, in every language the catalogs have: the engagement
service's form (``assessments.form``, dumped as its RPC answers it) rendered by the gateway's page,
read back as a browser reads the HTML. What it must show comes from the catalog files themselves."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from gateway import assessment_page
from services.engagement import schemas as s
from services.engagement.adapters.repository import token_digest
from services.engagement.domain.languages import FOLDER, available
from services.engagement.domain.model import ON, Engagement
from services.engagement.handlers import assessments
from tests.unit.fake_unit_of_work import FakeUnitOfWork

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
TOKEN = "h7Qx-token-of-the-link"
PHONE, EMAIL = "+15555550177", "canary.zed@example.org"
IDS = {"agency_id": "agency-5f1c", "referral_id": "referral-9a2e", "participant_id": "participant-3b7d",
       "consent_id": "consent-c41a"}
LANGUAGES = ("en", "es", "ar", "zh", "vi")


class Assessments:
    """The engagement repository as ``assessments.form`` reads it: one engagement and its handoff
    questionnaire, sent and open."""

    def __init__(self, engagement: Engagement) -> None:
        self.engagement = engagement
        self.record = {"id": "assessment-1", "due": "handoff", "token_digest": token_digest(TOKEN),
                       "sent_at": NOW, "expires_at": NOW + timedelta(days=7), "completed_at": None,
                       **{k: IDS[k] for k in ("agency_id", "referral_id")}}

    def assessment_by_token(self, token):
        return self.record if token_digest(token) == self.record["token_digest"] else None

    def get(self, agency_id, referral_id):
        return self.engagement if (agency_id, referral_id) == (IDS["agency_id"], IDS["referral_id"]) else None


class Page(HTMLParser):
    """What a browser makes of the page: the root's attributes, the title and heading, each
    question (its legend, its radio buttons and their labels), the hidden token, the button."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root: dict[str, str | None] = {}
        self.title = self.heading = self.button = ""
        self.questions: list[dict] = []
        self.hidden: dict[str, str | None] = {}
        self.text: list[str] = []
        self._in: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "html":
            self.root = found
        elif tag == "fieldset":
            self.questions.append({"legend": "", "radios": [], "labels": []})
        elif tag == "input" and found.get("type") == "radio":
            self.questions[-1]["radios"].append((found["name"], found["value"], "required" in found))
        elif tag == "input" and found.get("type") == "hidden":
            self.hidden[found["name"]] = found["value"]
        elif tag == "label":
            self.questions[-1]["labels"].append("")
        if tag in ("title", "h1", "legend", "label", "button"):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        self.text.append(data)
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.heading += data
        elif self._in == "button":
            self.button += data
        elif self._in == "legend":
            self.questions[-1]["legend"] += data
        elif self._in == "label":
            self.questions[-1]["labels"][-1] += data


def catalog_file(tag: str) -> dict:
    return json.loads((FOLDER / f"{tag}.json").read_text(encoding="utf-8"))


def opened(language: str):
    """The page a participant whose handoff named ``language`` gets from their link."""
    engagement = Engagement(**IDS, started_at=NOW, phone=PHONE, email=EMAIL, language=language,
                            checkins=ON)
    uow = FakeUnitOfWork(source="engagement", engagements=Assessments(engagement))
    form = s.AssessmentForm().dump(assessments.form(TOKEN, uow, NOW))
    return assessment_page.form_page(form, TOKEN)


def test_the_catalogs_speak_the_networks_five_languages():
    assert set(LANGUAGES) <= set(available())


@pytest.mark.parametrize("language", available())
def test_the_questionnaire_page_in_each_language(language):
    expected = catalog_file(language)
    response = opened(language)
    html = response.get_data(as_text=True)
    page = Page(html)

    assert response.status_code == 200 and response.mimetype == "text/html"
    assert page.root == {"lang": language, "dir": "rtl" if language == "ar" else "ltr"}
    assert expected.get("direction", "ltr") == page.root["dir"]
    assert page.title == page.heading == expected["form_title"]
    assert expected["form_intro"] in "".join(page.text)
    assert page.button == expected["form_submit"]

    # The ten statements, then the belonging question, each on the six-point scale, all required.
    assert [q["legend"] for q in page.questions] == [*expected["barc10"], expected["belonging"]]
    names = [f"item{n}" for n in range(1, 11)] + ["belonging"]
    for name, question in zip(names, page.questions, strict=True):
        assert question["radios"] == [(name, str(value), True) for value in range(1, 7)]
        assert [label.strip() for label in question["labels"]] == [
            f"{value} · {point}" for value, point in enumerate(expected["scale"], start=1)]
    if language != "en":  # its own words, not English ones
        english = catalog_file("en")
        assert not set(english["barc10"] + english["scale"] + [english["belonging"]]) & set(
            expected["barc10"] + expected["scale"] + [expected["belonging"]])

    # Nothing about the person, nor which referral or agency the link is for; only the token.
    assert page.hidden == {"t": TOKEN}
    for personal in (PHONE, EMAIL, "canary", *IDS.values()):
        assert personal not in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("language", "shown"), [
    ("fr", "en"), ("pt-BR", "en"), (None, "en"), ("es-MX", "es"), ("ar-EG", "ar"), ("zh-Hant-TW", "zh")])
def test_a_language_without_a_catalog_falls_back_to_its_primary_subtag_then_english(language, shown):
    expected = catalog_file(shown)
    page = Page(opened(language).get_data(as_text=True))
    assert page.root == {"lang": shown, "dir": "rtl" if shown == "ar" else "ltr"}
    assert [q["legend"] for q in page.questions] == [*expected["barc10"], expected["belonging"]]
    assert page.button == expected["form_submit"]
