"""The console's pure logic: CSRF tokens, choosing a language, the Spanish catalog, factor bars,
and turning form fields into the API's bodies."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from werkzeug.datastructures import MultiDict

from console import bars, csrf, i18n, views, web
from services.outcomes.domain.measures import MEASURES


def test_a_csrf_token_opens_only_its_own_binding():
    secret = csrf.secret_from_pepper(b"p" * 32)
    binding = csrf.new_binding()
    token = csrf.token_for(secret, binding)
    assert csrf.is_valid(secret, binding, token)
    assert not csrf.is_valid(secret, csrf.new_binding(), token)
    assert not csrf.is_valid(secret, binding, None) and not csrf.is_valid(secret, None, token)
    assert not csrf.is_valid(secret, binding, "")
    assert not csrf.is_valid(csrf.secret_from_pepper(b"q" * 32), binding, token)
    assert secret != b"p" * 32 and csrf.new_binding() != binding


def test_the_persons_choice_wins_then_accept_language_by_quality_then_english():
    assert i18n.choose("es", "en-US,en;q=0.9") == "es"
    assert i18n.choose(None, "fr;q=1, es-MX;q=0.8, en;q=0.5") == "es"
    assert i18n.choose(None, "en;q=0.2, es;q=0.9") == "es"
    assert i18n.choose(None, "es;q=0, en;q=0.1") == "en"
    assert i18n.choose("de", "fr, de") == "en"
    assert i18n.choose(None, None) == "en"
    assert i18n.choose(None, "*;q=0.5, es;q=garbage") == "en"
    assert i18n.parse_accept_language("es-MX, en;q=0.5, fr;q=0.7") == ["es", "fr", "en"]


def test_every_message_of_the_templates_and_pages_has_a_spanish_translation():
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True",
                                        "lstrip_blocks": "True"}}
    messages = {message for _, _, message, _, _ in extract_from_dir(
        str(i18n.TRANSLATIONS.parent), method_map, options)}
    assert len(messages) > 100
    with (i18n.TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source)
    translated = {message.id for message in catalog if message.id and message.string}
    assert sorted(m for m in messages if isinstance(m, str) and m not in translated) == []
    # The vocabulary codes pages show through _(code) are in it too.
    assert i18n.translations("es").gettext("in-progress") == "en curso"


def test_factor_bars_add_up_to_the_score_in_whole_points():
    def factor(name, weight, score, shared=True):
        return {"factor": name, "weight": weight, "score": score, "contribution": weight * score,
                "shared": shared}

    explanation = [factor("language", 0.3, 1.0), factor("distance", 0.2, 0.555),
                   factor("availability", 0.2, 0.5), factor("lived_experience", 0.3, 0.0, shared=False)]
    shown = bars.factor_bars(explanation, 0.511)
    assert [bar.factor for bar in shown] == ["language", "distance", "availability", "lived_experience"]
    assert sum(bar.points for bar in shown) == 51
    assert [bar.points for bar in shown] == [30, 11, 10, 0]
    assert shown[-1].shared is False
    thirds = [{"factor": f, "contribution": 1 / 3} for f in "abc"]
    assert sum(bar.points for bar in bars.factor_bars(thirds, 1.0)) == 100
    assert bars.factor_bars([], 0.0) == []
    assert [b.points for b in bars.factor_bars([{"factor": "a", "contribution": 0.0}], 0.0)] == [0]


def test_the_level_cap_is_told_apart_from_the_factor_bars():
    capped = {"factor": "level_cap", "weight": 0.0, "score": 0.0, "contribution": 0.0, "shared": True,
              "level": "trainee", "cap": 2, "capacity": 5, "caseload": 1}
    explanation = [{"factor": "pathway", "weight": 0.6, "score": 1.0, "contribution": 0.6},
                   {"factor": "age", "weight": 0.4, "score": 0.5, "contribution": 0.2}, capped]
    assert [bar.factor for bar in bars.factor_bars(explanation, 0.8)] == ["pathway", "age"]
    assert bars.level_cap(explanation) == capped
    assert bars.level_cap(explanation[:2]) is None


def test_the_mentor_form_puts_the_mentor_on_the_ladder_or_takes_them_off():
    on = views.mentor_body(MultiDict([("display_name", "M"), ("level", "trainee"),
                                      ("supervisor", " person-0042 ")]))
    assert (on["level"], on["supervisor"]) == ("trainee", "person-0042")
    off = views.mentor_body(MultiDict([("display_name", "M"), ("level", ""), ("supervisor", "")]))
    assert (off["level"], off["supervisor"]) == (None, None)


def test_time_left_before_an_offer_expires_in_whole_minutes():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert views.time_left("2026-12-01T12:30:59Z", now) == 30
    assert views.time_left("2026-12-01T11:00:00+00:00", now) == 0
    assert views.time_left(None, now) is None


def test_the_consent_form_becomes_the_apis_consent_body_with_the_agency_as_discloser():
    form = MultiDict([
        ("participant.given_name", "Ana"), ("participant.family_name", "Ruiz"),
        ("participant.birth_date", "1990-04-02"), ("participant.phone", ""),
        ("participant.preferred_language", "es"), ("recipients.classes", "peer_group"),
        ("purposes", "peer-support-referral"), ("data_classes", "contact"), ("data_classes", "demographics"),
        ("valid_from", "2026-11-01"), ("valid_until", "2027-11-01"),
        ("signature.signed_by", "participant"), ("signature.signer_name", "Ana Ruiz"),
        ("signature.signed_at", "2026-11-01T10:00"), ("signature.method", "electronic")])
    body = views.consent_body(form, "agency-1")
    assert body["disclosers"] == ["agency-1"]
    assert body["participant"] == {"given_name": "Ana", "family_name": "Ruiz", "birth_date": "1990-04-02",
                                   "preferred_language": "es"}
    assert body["recipients"] == {"agencies": [], "classes": ["peer_group"]}
    assert body["data_classes"] == ["contact", "demographics"]
    assert body["valid_from"] == "2026-11-01T00:00:00+00:00"
    assert body["signature"]["signed_at"] == "2026-11-01T10:00:00+00:00"
    assert "expires_on" not in body
    ending = views.consent_body(MultiDict([("expires_on", "end-of-treatment")]), "a")
    assert ending["expires_on"] == "end-of-treatment" and "valid_until" not in ending


def test_the_referral_form_keeps_what_is_not_a_number_for_the_api_to_refuse():
    form = MultiDict([("participant_id", "p"), ("consent_id", "c"), ("reason", "why"),
                      ("urgency", "routine"), ("needs.languages", "es, en ,"), ("needs.age", "thirty"),
                      ("needs.pathways", "12-step"), ("needs.location.lat", "40.7"),
                      ("needs.location.lon", "-74")])
    body = views.referral_body(form)
    assert body["needs"]["languages"] == ["es", "en"]
    assert body["needs"]["age"] == "thirty"
    assert body["needs"]["location"] == {"lat": 40.7, "lon": -74.0}
    assert body["needs"]["remote_ok"] is False
    assert views.referral_body(MultiDict([("needs.age", "36")]))["needs"]["age"] == 36
    assert views.referral_body(MultiDict([("external_id", " ORD-9 ")]))["external_id"] == "ORD-9"
    assert "external_id" not in views.referral_body(MultiDict([("external_id", "")]))


def test_the_accounting_window_includes_both_days():
    assert views.day_window("2026-11-01", "2026-11-30") == {
        "since": "2026-11-01T00:00:00+00:00", "until": "2026-12-01T00:00:00+00:00"}
    assert views.day_window("", None) == {}
    assert views.day_window("soon", "") == {"since": "soon"}


def test_the_contact_form_becomes_the_contact_body_and_keeps_a_bad_duration_for_the_api():
    form = MultiDict([("contacted_at", "2026-11-30T14:05"), ("mode", "call"), ("outcome", "reached"),
                      ("duration_minutes", "25"), ("note", "  met at group  ")])
    assert views.contact_body(form) == {"contacted_at": "2026-11-30T14:05:00+00:00", "mode": "call",
                                        "outcome": "reached", "duration_minutes": 25,
                                        "note": "met at group"}
    bare = views.contact_body(MultiDict([("mode", "text"), ("outcome", "no_answer"),
                                         ("duration_minutes", "half an hour"), ("note", " ")]))
    assert bare == {"mode": "text", "outcome": "no_answer", "duration_minutes": "half an hour"}


def test_the_check_in_form_becomes_the_check_in_body_with_its_window():
    form = MultiDict([("method", "verbal"), ("cadence_days", "14"), ("window.start", "09:00"),
                      ("window.end", "18:30"), ("window.timezone", " America/Chicago ")])
    assert views.checkin_body(form) == {"method": "verbal", "cadence_days": 14, "contact_window": {
        "start": "09:00", "end": "18:30", "timezone": "America/Chicago"}}
    bare = views.checkin_body(MultiDict([("method", "text_reply"), ("channel", "")]))
    assert bare == {"method": "text_reply"}
    assert views.checkin_body(MultiDict([("method", "written"), ("channel", "email")]))["channel"] == "email"


def test_the_score_trend_puts_ten_at_the_bottom_and_sixty_at_the_top():
    items = [{"due": "handoff", "total": 10}, {"due": "day30", "total": None},
             {"due": "day60", "total": 60}, {"due": "day90", "total": 35}]
    points = views.score_trend(items, width=240, height=80, pad=8)
    assert [(p["due"], p["x"], p["y"]) for p in points] == [
        ("handoff", 8, 72), ("day60", 120, 8), ("day90", 232, 40)]
    assert views.score_trend([{"due": "handoff", "total": 42}])[0]["x"] == 120
    assert views.score_trend([{"due": "handoff", "total": None}]) == []


def test_board_search_becomes_the_listing_query():
    query = views.board_query({"participant_id": "p-1", "external_id": "ORD-9", "date": "2026-12-01"})
    assert query == {"participant_id": "p-1", "external_id": "ORD-9",
                     "created_after": "2026-11-30T23:59:59.999999+00:00",
                     "created_before": "2026-12-02T00:00:00+00:00"}
    assert views.board_query({"participant_id": "", "external_id": "", "date": ""}) == {}
    assert views.board_query({"date": "yesterday"}) == {"created_after": "yesterday"}


def test_console_cookies_are_http_only_strict_and_secure_over_https():
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request, Response

    def cookie(**environ) -> str:
        response = Response()
        web.set_cookie(response, Request(EnvironBuilder(**environ).get_environ()), "rn_console_session", "t")
        return response.headers["Set-Cookie"]

    plain = cookie(base_url="http://console.example")
    assert "HttpOnly" in plain and "SameSite=Strict" in plain and "Path=/console" in plain
    assert "Secure" not in plain
    assert "Secure" in cookie(base_url="https://console.example")
    assert "Secure" in cookie(base_url="http://console.example", headers={"X-Forwarded-Proto": "https"})


def test_every_console_answer_forbids_inline_script_and_caching():
    from werkzeug.wrappers import Response

    headers = web.secure_headers(Response()).headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in web.secure_headers(Response(), private=False).headers


def test_the_reports_page_titles_every_measure_in_english_and_spanish():
    tables = [{"measure": name, "figures": list(figures), "by": None, "rows": [], "chart": None}
              for name, (_, figures) in MEASURES.items()]
    context = {"me": None, "languages": i18n.LANGUAGES, "csrf_token": "t", "has": lambda role: False,
               "idle_minutes": 15, "idle_seconds": 900, "next_path": "/console/reports", "report": None,
               "tables": tables, "filters": {}, "errors": {}, "breakdowns": views.REPORT_BREAKDOWNS}
    refusals = {"en": "Referrals consent refused as they were made, by reason and month",
                "es": "Derivaciones que el consentimiento rechazó al hacerse, por motivo y mes"}
    for language, title in refusals.items():
        page = views.ENVIRONMENTS[language].get_template("reports.html").render(**context, lang=language)
        titles = dict(re.findall(r'<h2 id="title-(\w+)">([^<]*)</h2>', page))
        assert set(titles) == set(MEASURES) and all(titles.values()), language
        assert titles["consent_refusals"] == title
