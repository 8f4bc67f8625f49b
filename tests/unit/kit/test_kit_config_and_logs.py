import logging

import pytest

from services.kit.config import ConfigError, load_config, substitute
from services.kit.logs import REDACTED, PersonalDataFilter, scrub


def test_substitution_uses_environment_then_default():
    env = {"DB": "postgresql://db/consent"}
    assert substitute("${DB:sqlite:///var/x.db}", env) == "postgresql://db/consent"
    assert substitute("${MISSING:sqlite:///var/x.db}", env) == "sqlite:///var/x.db"
    assert substitute("${EMPTY:}", env) == ""


def test_required_variable_without_default_is_named():
    with pytest.raises(ConfigError, match="LEDGER_KEY"):
        substitute("key: ${LEDGER_KEY}", {})


def test_load_config_reads_yaml_after_substitution(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text("AMQP_URI: ${AMQP_URI:pyamqp://localhost}\nEVENT_RETRY:\n  max_attempts: ${TRIES:5}\n")
    assert load_config(path, {"TRIES": "7"}) == {
        "AMQP_URI": "pyamqp://localhost", "EVENT_RETRY": {"max_attempts": 7},
    }


def test_comments_may_mention_variables_that_are_not_set(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text("# set ${LEDGER_KEY} in production\nLEVEL: ${LOG_LEVEL:INFO}\n")
    assert load_config(path, {}) == {"LEVEL": "INFO"}


def test_scrub_redacts_personal_fields_at_any_depth():
    data = {"referral_id": "r-1", "participant": {"given_name": "Zyx"}, "items": [{"email": "a@b.org"}]}
    assert scrub(data) == {"referral_id": "r-1", "participant": REDACTED, "items": [{"email": REDACTED}]}


def _emit(caplog, msg, *args, **extra):
    logger = logging.getLogger("test.scrub")
    logger.addFilter(PersonalDataFilter())
    try:
        with caplog.at_level(logging.INFO, logger="test.scrub"):
            logger.info(msg, *args, extra=extra)
    finally:
        logger.filters.clear()
    return caplog.records[-1].getMessage(), caplog.records[-1]


def test_log_records_lose_personal_details(caplog):
    text, record = _emit(
        caplog, "granted %s for %s", "c-1", {"given_name": "Qwertina", "phone": "+15555550100"},
        email="canary@example.org", referral_id="r-9",
    )
    assert "Qwertina" not in text and "+15555550100" not in text
    assert record.email == REDACTED
    assert record.referral_id == "r-9"


def test_contact_details_in_free_text_are_masked(caplog):
    text, _ = _emit(caplog, "could not reach canary@example.org or +1 (555) 555-0100 for r-7")
    assert "canary@example.org" not in text and "555-0100" not in text
    assert "r-7" in text


def test_addresses_and_times_in_log_lines_stay_readable(caplog):
    text, _ = _emit(caplog, "Connected to amqp://guest:**@127.0.0.1:5672/ at 2026-11-21 06:01:14")
    assert "127.0.0.1:5672" in text and "06:01:14" in text
