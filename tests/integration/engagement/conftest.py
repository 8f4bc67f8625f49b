"""The engagement service with the real referrals and consent services, each with its own database,
on a vhost, and a local Twilio-shaped SMS provider."""

from __future__ import annotations

import base64
import os

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.consent.service import ConsentService
from services.engagement.service import EngagementService
from services.kit.crypto import generate_key
from services.referrals.service import ReferralsService
from tests.harness.events import EventTap
from tests.harness.sms_provider import SmsProvider
from tests.integration.migrated import migrated


@pytest.fixture
def base_config(rabbit_config):
    return {**rabbit_config, "OUTBOX_POLL_SECONDS": 0.1,
            "EVENT_RETRY": {"max_attempts": 3, "base_delay_ms": 20}}


@pytest.fixture
def database_of(database_url, tmp_path, request):
    """A database of the test's kind for each service."""
    def make(service: str) -> str:
        if database_url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path / f'{service}.db'}"
        else:
            url = request.getfixturevalue("postgres_databases")()
        return migrated(service, url)
    return make


@pytest.fixture
def provider():
    provider = SmsProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def tap(base_config):
    tap = EventTap(base_config["AMQP_URI"], "test.engagement-tap")
    yield tap
    tap.close()


@pytest.fixture
def engagement_config(base_config, database_of, provider):
    return {**base_config, "DATABASE_URL": database_of("engagement"),
            "FIELD_ENCRYPTION_KEYS": f"k1:{generate_key()}",
            "ENGAGEMENT_LOOKUP_KEY": base64.b64encode(os.urandom(32)).decode(),
            **provider.settings(), "CHECKIN_INTERVAL_SECONDS": 0.2, "CRISIS_CHECK_SECONDS": 0.2,
            "SILENCE_CHECK_SECONDS": 3600, "CRISIS_ACK_MINUTES": 0.01, "ASSESSMENT_CHECK_SECONDS": 0.2,
            "PUBLIC_BASE_URL": "https://network.example"}


@pytest.fixture
def services(base_config, database_of, engagement_config, container_factory, tap):
    """consent, referrals and engagement running; RPC proxies to each."""
    consent_config = {**base_config, "DATABASE_URL": database_of("consent"),
                      "FIELD_ENCRYPTION_KEYS": f"k1:{generate_key()}",
                      "LEDGER_HMAC_KEY": base64.b64encode(os.urandom(32)).decode(),
                      "LEDGER_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
                      "TIMERS_ENABLED": False}
    referrals_config = {**base_config, "DATABASE_URL": database_of("referrals"),
                        "FIELD_ENCRYPTION_KEYS": f"k1:{generate_key()}", "CONSENT_RPC_TIMEOUT_SECONDS": 5}
    container_factory(ConsentService, consent_config).start()
    container_factory(ReferralsService, referrals_config).start()
    container_factory(EngagementService, engagement_config).start()
    with ServiceRpcProxy("consent", base_config, timeout=15) as consent, \
            ServiceRpcProxy("referrals", base_config, timeout=15) as referrals, \
            ServiceRpcProxy("engagement", base_config, timeout=15) as engagement:
        yield {"consent": consent, "referrals": referrals, "engagement": engagement}
