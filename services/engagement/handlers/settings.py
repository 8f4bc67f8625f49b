"""The peer group's engagement settings: how it signs its texts, and its on-call ladder."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.engagement.domain.commands import ChangeSettings
from services.kit.messages import Caller


def put_settings(command: ChangeSettings, uow, now: datetime) -> dict[str, Any]:
    with uow:
        uow.engagements.set_settings(command.caller.agency_id, command.sender_name, command.on_call, now,
                                     supervisors=command.supervisors)
        uow.commit()
    return get_settings(command.caller, uow)


def get_settings(caller: Caller, uow) -> dict[str, Any]:
    with uow:
        return uow.engagements.settings(caller.agency_id)
