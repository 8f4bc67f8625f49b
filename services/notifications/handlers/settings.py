"""An agency's notification settings: replace them, read them."""

from __future__ import annotations

from datetime import datetime

from services.notifications.domain.commands import ChangeSettings, ReadSettings
from services.notifications.domain.settings import AgencySettings
from services.notifications.domain.settings_request import SettingsChange, WebhookPolicy, apply_settings


def put_settings(command: ChangeSettings, uow, now: datetime,
                 webhooks: WebhookPolicy = WebhookPolicy()) -> SettingsChange:
    """Replace the caller's settings and commit; the change reveals a new webhook secret once.

    Raises ``InvalidRequest`` with field errors (nothing is saved then).
    """
    caller = command.caller
    with uow:
        change = apply_settings(caller.agency_id, caller.kind, caller.roles, command.body,
                                uow.settings.settings_of(caller.agency_id), webhooks)
        uow.settings.save_settings(change.settings, now)
        uow.commit()
    return change


def get_settings(query: ReadSettings, uow) -> AgencySettings:
    """The caller's settings, or the defaults (nothing configured) when it set none."""
    caller = query.caller
    with uow:
        found = uow.settings.settings_of(caller.agency_id)
    return found or AgencySettings(caller.agency_id, caller.kind, caller.roles)
