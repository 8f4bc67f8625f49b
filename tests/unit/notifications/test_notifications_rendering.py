"""Templates per language with an English fallback; no personal detail ever rendered."""

import json
import shutil
from datetime import timedelta

import pytest
from jinja2 import UndefinedError
from notification_builders import (
    NOW,
    event,
    match_payload,
    revoked_payload,
    status_payload,
    waitlisted_payload,
)

from services.kit.contract import Event
from services.kit.vocabulary import STATUS_REASONS
from services.notifications.domain import message as m
from services.notifications.domain.rendering import TEMPLATES_DIR, Renderer
from services.notifications.domain.routing import PendingProposal, due_escalations

renderer = Renderer("https://network.example/")


def samples():
    proposal = PendingProposal("mt-1", "rf-1", "ag-hospital", "ag-peers", "urgent",
                               NOW - timedelta(hours=1))
    return {
        m.MATCH_PROPOSED: m.message_for(event("match.proposed", match_payload()),
                                        m.MATCH_PROPOSED),
        m.MATCH_WAITLISTED: m.message_for(event("match.waitlisted", waitlisted_payload()),
                                          m.MATCH_WAITLISTED),
        m.REFERRAL_STATUS_CHANGED: m.message_for(
            event("referral.status_changed", status_payload(to_status="cancelled",
                                                            reason_code="consent_revoked")),
            m.REFERRAL_STATUS_CHANGED),
        m.CONSENT_REVOKED: m.message_for(event("consent.revoked", revoked_payload()),
                                         m.CONSENT_REVOKED),
        m.CONSENT_EXPIRED: m.message_for(
            event("consent.expired", {"consent_id": "cn-1", "participant_id": "pt-1"}),
            m.CONSENT_EXPIRED),
        m.REFERRAL_ESCALATED: due_escalations([proposal], NOW, ["ag-admin"])[0].message,
        m.MENTOR_CERTIFICATION_EXPIRING: m.message_for(
            event("mentor.certification_expiring",
                  {"mentor_id": "mn-1", "agency_id": "ag-peers", "days": 7, "days_left": 6}),
            m.MENTOR_CERTIFICATION_EXPIRING),
    }


def test_every_message_kind_has_english_and_spanish_templates():
    for language in ("en", "es"):
        for kind in m.MESSAGE_KINDS:
            assert (TEMPLATES_DIR / language / f"{kind}.j2").is_file(), (language, kind)


@pytest.mark.parametrize("kind", m.MESSAGE_KINDS)
def test_every_kind_renders_in_both_languages_and_they_differ(kind):
    message = samples()[kind]
    en, es = renderer.email(message, "en"), renderer.email(message, "es")
    assert en.language == "en" and es.language == "es"
    assert en.subject and en.body and es.subject and es.body
    assert en.subject != es.subject and en.body != es.body
    assert "\n" not in en.subject
    for language in ("en", "es"):
        text = renderer.sms(message, language)
        assert 0 < len(text) <= 160 and "\n" not in text


def test_spanish_status_change_uses_spanish_words_for_statuses_and_reasons():
    content = renderer.email(samples()[m.REFERRAL_STATUS_CHANGED], "es")
    assert content.subject == "La derivación rf-1 está ahora cancelada"
    assert "el participante revocó su consentimiento" in content.body


@pytest.mark.parametrize("code", STATUS_REASONS)
def test_every_status_reason_code_has_words_in_both_languages(code):
    message = m.message_for(event("referral.status_changed",
                                  status_payload(to_status="on-hold", reason_code=code)),
                            m.REFERRAL_STATUS_CHANGED)
    for language, label in (("en", "Reason: "), ("es", "Motivo: ")):
        [line] = [row for row in renderer.email(message, language).body.splitlines() if row.startswith(label)]
        assert line != label + code, (language, code)  # words, not the bare code


def test_unknown_language_falls_back_to_english():
    message = samples()[m.MATCH_PROPOSED]
    english = renderer.email(message, "en")
    for language in ("fr", "zz", "", "not a language"):
        assert renderer.email(message, language) == english
    assert renderer.language_for("es-MX") == "es"


def test_a_missing_translation_falls_back_to_english_for_that_kind_only(tmp_path):
    shutil.copytree(TEMPLATES_DIR, tmp_path / "templates")
    (tmp_path / "templates" / "es" / "match.waitlisted.j2").unlink()
    partial = Renderer("https://network.example", tmp_path / "templates")
    waitlisted = partial.email(samples()[m.MATCH_WAITLISTED], "es")
    assert waitlisted.subject == "Referral rf-1 is on the waitlist"
    proposed = partial.email(samples()[m.MATCH_PROPOSED], "es")
    assert proposed.subject.startswith("Propuesta de mentor")


def test_a_template_using_an_unknown_name_fails_loudly(tmp_path):
    shutil.copytree(TEMPLATES_DIR, tmp_path / "templates")
    (tmp_path / "templates" / "en" / "match.proposed.j2").write_text(
        "{% block subject %}{{ participant_name }}{% endblock %}"
        "{% block body %}x{% endblock %}{% block sms %}x{% endblock %}")
    with pytest.raises(UndefinedError):
        Renderer("https://x.example", tmp_path / "templates").email(samples()[m.MATCH_PROPOSED])


def test_times_are_shown_in_the_recipients_zone_and_language():
    content = renderer.email(samples()[m.MATCH_PROPOSED], "es", "America/New_York")
    # 5 Nov 2026 15:00 UTC is 10:00 in New York (EST).
    assert "5 nov 2026, 10:00:00 (America/New_York)" in content.body
    assert "Puntuación: 0,87" in content.body


def test_webhook_body_is_the_api_shape_with_ids_statuses_and_links():
    message = samples()[m.REFERRAL_STATUS_CHANGED]
    body = json.loads(renderer.webhook_body(message))
    assert body["id"] == message.id and body["type"] == "referral.status_changed"
    assert body["occurred_at"] == "2026-11-03T15:00:00Z"
    assert body["data"] == {"referral_id": "rf-1", "assigned_agency_id": "ag-peers",
                            "urgency": "routine", "from_status": "accepted",
                            "to_status": "cancelled", "reason_code": "consent_revoked"}
    assert body["links"] == {"referral": "https://network.example/v1/referrals/rf-1"}


CANARY = "CANARY"


def canary_events():
    """Canaries in every field that is not on a whitelist: contract-valid ones, and
    fields a buggy producer might add that the contract would have refused."""
    valid = [
        event("match.proposed", match_payload(
            referrer_agency_id="CANARY-referrer",
            explanation=[{"factor": "CANARY factor", "weight": 1, "score": 1, "contribution": 1}])),
        event("referral.status_changed", status_payload(participant_id="CANARY-participant",
                                                        referrer_agency_id="CANARY-ref")),
        event("match.waitlisted", waitlisted_payload(referrer_agency_id="CANARY-ref")),
        event("consent.revoked", revoked_payload(
            revoked={"agencies": ["CANARY-agency"], "classes": ["peer_group"]})),
    ]
    personal = {"given_name": "CANARY Ana", "family_name": "CANARY Ruiz",
                "phone": "+1555CANARY", "email": "canary@CANARY.example",
                "reason": "CANARY detox discharge, relapse risk", "notes": "CANARY note"}
    smuggled = [Event(e.id, e.type, e.version, e.occurred_at, e.source, e.correlation_id,
                      e.causation_id, {**e.payload, **personal}) for e in valid]
    return valid + smuggled


KIND_OF = {"match.proposed": m.MATCH_PROPOSED, "referral.status_changed":
           m.REFERRAL_STATUS_CHANGED, "match.waitlisted": m.MATCH_WAITLISTED,
           "consent.revoked": m.CONSENT_REVOKED}


@pytest.mark.parametrize("e", canary_events(), ids=lambda e: e.type)
def test_canaries_outside_the_whitelist_never_reach_any_rendered_message(e):
    message = m.message_for(e, KIND_OF[e.type])
    rendered = [renderer.webhook_body(message).decode()]
    for language in ("en", "es", "fr"):
        content = renderer.email(message, language, "America/New_York")
        rendered += [content.subject, content.body, renderer.sms(message, language)]
    for text in rendered:
        assert CANARY.lower() not in text.lower()


def test_free_text_in_a_reason_code_is_replaced_and_in_an_id_is_refused():
    e = event("referral.status_changed", status_payload(reason_code="Ana relapsed on Friday"))
    assert m.message_for(e, m.REFERRAL_STATUS_CHANGED).data["reason_code"] == "other"
    bad = event("referral.status_changed", status_payload(referral_id="Ana Ruiz, 36"))
    with pytest.raises(m.UnsafeMessage):
        m.message_for(bad, m.REFERRAL_STATUS_CHANGED)


def test_message_record_round_trips():
    message = samples()[m.MATCH_PROPOSED]
    assert m.Message.from_record(json.loads(json.dumps(message.to_record()))) == message


def test_a_certification_reminder_names_the_days_and_links_the_mentors_not_a_name():
    message = samples()[m.MENTOR_CERTIFICATION_EXPIRING]
    assert message.data == {"mentor_id": "mn-1", "days": 7, "days_left": 6}
    en, es = renderer.email(message, "en"), renderer.email(message, "es")
    assert "6 days" in en.subject and "6 días" in es.subject
    assert "https://network.example/v1/mentors" in en.body
    assert "ag-peers" not in renderer.webhook_body(message).decode()
