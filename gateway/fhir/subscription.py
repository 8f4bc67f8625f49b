"""FHIR R4 ``Subscription`` as the Subscriptions R5 Backport IG profiles it, to and from the
notifications service's subscriptions (``services/notifications/domain/subscriptions.py``).

The one topic is ``TASK_STATUS_TOPIC`` (every status change of the agency's own referrals'
Tasks), in ``criteria``; ``_criteria`` may carry the filter ``Task?requester=Organization/<own
id>``, which is what the topic covers anyway. The channel is a ``rest-hook`` to an https
endpoint, payload ``application/fhir+json`` with ``id-only`` content; the heartbeat period is the
backport's extension on the channel.
"""

from __future__ import annotations

from typing import Any

from gateway.fhir.references import invalid
from services.kit.errors import InvalidRequest
from services.notifications.domain.subscriptions import TASK_STATUS_TOPIC

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
PROFILE = BACKPORT + "backport-subscription"
EXT_FILTER = BACKPORT + "backport-filter-criteria"
EXT_HEARTBEAT = BACKPORT + "backport-heartbeat-period"
EXT_CONTENT = BACKPORT + "backport-payload-content"
FHIR_JSON = "application/fhir+json"
ID_ONLY = "id-only"
STATUSES = ("requested", "active", "error", "off")

# Field names of the notifications service -> the FHIR element they came from.
SUBSCRIPTION_PATHS = {"topic": "Subscription.criteria", "endpoint": "Subscription.channel.endpoint",
                      "heartbeat_seconds": "Subscription.channel.extension"}


def _extension(element: Any, url: str) -> dict[str, Any] | None:
    if not isinstance(element, dict):
        return None
    return next((e for e in element.get("extension") or [] if isinstance(e, dict) and e.get("url") == url),
                None)


def subscription_request(resource: Any, agency_id: str) -> dict[str, Any]:
    """The notifications service's body for a new Subscription. Raises ``InvalidRequest`` naming
    each element at fault (FHIRPath)."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Subscription":
        raise invalid("Subscription", "Send a Subscription.")
    errors: dict[str, list[str]] = {}
    if resource.get("status") not in (None, "requested"):
        errors["Subscription.status"] = ["A new subscription is requested."]
    if resource.get("criteria") != TASK_STATUS_TOPIC:
        errors["Subscription.criteria"] = [f"The topic this server offers is {TASK_STATUS_TOPIC}."]
    own = {f"Task?requester=Organization/{agency_id}", "Task"}
    filtered = _extension(resource.get("_criteria"), EXT_FILTER)
    if filtered is not None and filtered.get("valueString") not in own:
        errors["Subscription._criteria"] = [
            f"The topic covers the agency's own Tasks: Task?requester=Organization/{agency_id}."]
    if resource.get("end") is not None:
        errors["Subscription.end"] = ["Subscriptions last until turned off; end is not supported."]
    channel = resource.get("channel")
    if not isinstance(channel, dict):
        errors["Subscription.channel"] = ["A rest-hook channel is required."]
        channel = {}
    if channel.get("type") != "rest-hook":
        errors["Subscription.channel.type"] = ["The channel type is rest-hook."]
    if channel.get("payload") != FHIR_JSON:
        errors["Subscription.channel.payload"] = [f"The payload is {FHIR_JSON}."]
    content = _extension(channel.get("_payload"), EXT_CONTENT)
    if content is not None and content.get("valueCode") != ID_ONLY:
        errors["Subscription.channel._payload"] = ["Notifications are id-only."]
    if channel.get("header"):
        errors["Subscription.channel.header"] = [
            "Notifications are signed with the agency's webhook secret; headers are not sent."]
    heartbeat = _extension(channel, EXT_HEARTBEAT)
    if errors:
        raise InvalidRequest("Some elements are missing or invalid.", errors=errors)
    return {"topic": resource["criteria"], "endpoint": channel.get("endpoint"),
            "heartbeat_seconds": heartbeat.get("valueUnsignedInt") if heartbeat else None}


def fhir_subscription(view: dict[str, Any]) -> dict[str, Any]:
    """The Subscription resource of the notifications service's ``public_view``."""
    channel: dict[str, Any] = {
        "type": "rest-hook",
        "endpoint": view["endpoint"],
        "payload": FHIR_JSON,
        "_payload": {"extension": [{"url": EXT_CONTENT, "valueCode": ID_ONLY}]},
    }
    if view.get("heartbeat_seconds"):
        channel["extension"] = [{"url": EXT_HEARTBEAT, "valueUnsignedInt": view["heartbeat_seconds"]}]
    resource: dict[str, Any] = {
        "resourceType": "Subscription",
        "id": view["id"],
        "meta": {"profile": [PROFILE]},
        "status": view["status"],
        "reason": "Status changes of the agency's referrals' Tasks",
        "criteria": view["topic"],
        "channel": channel,
    }
    if view.get("reason"):
        resource["error"] = view["reason"]
    return resource


def status_change(body: Any) -> Any:
    """The status a PUT, a partial Subscription or a JSON Patch asks for."""
    if isinstance(body, list):
        return next((op.get("value") for op in body if isinstance(op, dict)
                     and op.get("op") in ("replace", "add") and op.get("path") == "/status"), None)
    return body.get("status") if isinstance(body, dict) else None
