"""Someone now: a crisis signal alerts the peer group's on-call ladder, in order, until acknowledged.

The first alert goes at once to the first on call (quiet hours do not apply); unacknowledged after
``ack_after`` it goes to the next, and so on to the agency's admin, who closes the ladder. Every
step is in the crisis's history and published as ``engagement.crisis_signaled`` (ids and codes).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from services.engagement.adapters.sms import Text, TextSender
from services.engagement.domain.commands import AcknowledgeCrisis
from services.engagement.domain.languages import catalog
from services.engagement.domain.model import ChangedMeanwhile, Engagement
from services.engagement.handlers.changes import deliver, retried
from services.kit.errors import NotFound

log = logging.getLogger(__name__)


def signal_crisis(uow, engagement: Engagement, now: datetime, ack_after: timedelta) -> list[Text]:
    """Open a crisis and alert the first on call; the texts to send."""
    crisis_id = str(uuid.uuid4())
    ladder = uow.engagements.settings(engagement.agency_id)["on_call"]
    record = {"id": crisis_id, "agency_id": engagement.agency_id, "referral_id": engagement.referral_id,
              "signaled_at": now, "step": 0, "acknowledged_at": None, "acknowledged_by": None,
              "next_escalation_at": now + ack_after if len(ladder) > 1 else None,
              "history": [_step(now, "signaled", 0, "alerted" if ladder else "nobody_on_call")]}
    uow.engagements.add_crisis(record)
    _publish(uow, record, "signaled")
    return [_alert(engagement.agency_id, engagement.referral_id, ladder[0], crisis_id)] if ladder else []


def escalate(uow, sender: TextSender, now: datetime, ack_after: timedelta) -> int:
    """Alert the next on call for each crisis unacknowledged past its time. Returns how many.

    A crisis acknowledged (or escalated by another process) since this round read it is left
    alone: nobody is alerted for it, and its acknowledgement stays."""
    texts = []
    with uow:
        for record in uow.engagements.unacknowledged_due(now):
            ladder = uow.engagements.settings(record["agency_id"])["on_call"]
            loaded, step = record["step"], record["step"] + 1
            alert = None
            if step >= len(ladder):
                record["next_escalation_at"] = None
            else:
                alert = _alert(record["agency_id"], record["referral_id"], ladder[step], record["id"])
                record["step"] = step
                record["next_escalation_at"] = now + ack_after if step + 1 < len(ladder) else None
                record["history"] = [*record["history"], _step(now, "escalated", step, "alerted")]
            try:
                uow.engagements.save_crisis(record, loaded_step=loaded)
            except ChangedMeanwhile:
                log.info("crises: crisis %s changed meanwhile; left to the next round", record["id"])
                continue
            if alert is not None:
                texts.append(alert)
                _publish(uow, record, "escalated")
        uow.commit()
    deliver(uow, sender, texts, now)
    return len(texts)


def acknowledge(command: AcknowledgeCrisis, uow, now: datetime) -> dict[str, Any]:
    """Someone of the peer group has it: no further escalation. Another agency's is ``NotFound``.
    Escalated meanwhile, the crisis is read again and acknowledged at its new step."""
    def attempt() -> dict[str, Any]:
        with uow:
            record = uow.engagements.crisis(command.crisis_id)
            if record is None or record["agency_id"] != command.caller.agency_id:
                raise NotFound("No such crisis.")
            if record["acknowledged_at"] is None:
                record.update(acknowledged_at=now, acknowledged_by=command.caller.actor,
                              next_escalation_at=None,
                              history=[*record["history"], _step(now, "acknowledged", record["step"], None)])
                uow.engagements.save_crisis(record, loaded_step=record["step"])
                _publish(uow, record, "acknowledged")
                uow.commit()
        return record

    return crisis_view(retried(attempt))


def crisis_view(record: dict[str, Any]) -> dict[str, Any]:
    return {name: record[name] for name in ("id", "referral_id", "signaled_at", "step", "acknowledged_at",
                                            "acknowledged_by", "history")}


def _alert(agency_id: str, referral_id: str, person: dict[str, str], crisis_id: str) -> Text:
    body = catalog(person.get("language")).text("crisis_alert", crisis_id=crisis_id)
    return Text(agency_id, referral_id, "crisis_alert", person["phone"], body)


def _step(at: datetime, action: str, step: int, status: str | None) -> dict[str, Any]:
    return {"at": at.isoformat(), "action": action, "step": step, "status": status}


def _publish(uow, record: dict[str, Any], action: str) -> None:
    uow.publish("engagement.crisis_signaled", {
        "referral_id": record["referral_id"], "agency_id": record["agency_id"], "crisis_id": record["id"],
        "action": action, "step": record["step"]}, aggregate_id=record["referral_id"])
