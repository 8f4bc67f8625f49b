"""The referrals service and the real consent service, each with its own database, on a vhost."""

from __future__ import annotations

import base64
import os

import pytest

from services.consent.service import ConsentService
from services.kit.crypto import generate_key
from services.referrals.service import ReferralsService
from tests.integration.migrated import migrated
from tests.integration.referrals.referral_support import EventTap
from tests.support import service_proxy


@pytest.fixture
def base_config(rabbit_config):
    return {**rabbit_config, "OUTBOX_POLL_SECONDS": 0.1,
            "EVENT_RETRY": {"max_attempts": 3, "base_delay_ms": 20}}


@pytest.fixture
def referrals_config(base_config, database_url):
    return {**base_config, "DATABASE_URL": migrated("referrals", database_url),
            "FIELD_ENCRYPTION_KEYS": f"k1:{generate_key()}",
            "CONSENT_RPC_TIMEOUT_SECONDS": 5, "REFERRALS_PAGE_SIZE": 2}


@pytest.fixture
def consent_config(base_config, database_url, tmp_path, request):
    """Consent owns its own database, of the same kind as referrals'."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'consent.db'}"
    else:
        url = request.getfixturevalue("postgres_databases")()
    return {**base_config, "DATABASE_URL": migrated("consent", url),
            "FIELD_ENCRYPTION_KEYS": f"k1:{generate_key()}",
            "LEDGER_HMAC_KEY": base64.b64encode(os.urandom(32)).decode(),
            "LEDGER_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
            "TIMERS_ENABLED": False}


@pytest.fixture
def tap(base_config):
    """Bound before any service starts, so it sees every event."""
    tap = EventTap(base_config["AMQP_URI"])
    yield tap
    tap.close()


@pytest.fixture
def consent(consent_config, container_factory, tap):
    container_factory(ConsentService, consent_config).start()
    with service_proxy("consent", consent_config, timeout=15) as proxy:
        yield proxy


@pytest.fixture
def referrals(referrals_config, container_factory, consent):
    container_factory(ReferralsService, referrals_config).start()
    with service_proxy("referrals", referrals_config, timeout=15) as proxy:
        yield proxy
