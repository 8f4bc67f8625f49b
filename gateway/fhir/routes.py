"""Every ``/fhir`` route: one row each, served by the function of ``gateway/fhir/endpoints.py``
its ``operation`` names. Adding a route is adding a row here and that function.

``roles`` are checked as ``gateway/policy.py`` checks the ``/v1`` routes (the same roles as the
``/v1`` route doing the same thing); ``resource_type`` and ``interaction`` are what
``access.require_scope`` checks, and what ``/fhir/metadata`` declares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.fhir.search import SERVICE_REQUEST_PARAMS, TASK_PARAMS

REFERRER, COORDINATOR, ADMIN, OPERATOR = "referrer", "coordinator", "admin", "operator"
EVERY_ROLE = frozenset({REFERRER, COORDINATOR, ADMIN, OPERATOR})
READERS = frozenset({REFERRER, COORDINATOR, ADMIN})
_PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class FhirRoute:
    operation: str
    method: str
    path: str  # e.g. "/fhir/Task/{id}"
    roles: frozenset[str]  # empty: public
    resource_type: str | None = None
    # FHIR interaction: create, read, update, patch, delete, search-type, transaction, capabilities
    interaction: str | None = None
    search_params: tuple[str, ...] = ()

    @property
    def url_rule(self) -> str:
        return _PATH_PARAM.sub(r"<string:\1>", self.path)

    @property
    def scope_letter(self) -> str | None:
        """The SMART scope letter the interaction needs (None: no scope, e.g. metadata)."""
        return {"create": "create", "read": "read", "update": "update", "patch": "update",
                "delete": "delete", "search-type": "search"}.get(self.interaction or "")


FHIR_ROUTES: tuple[FhirRoute, ...] = (
    FhirRoute("fhir_metadata", "GET", "/fhir/metadata", frozenset(), interaction="capabilities"),
    FhirRoute("fhir_transaction", "POST", "/fhir", frozenset({REFERRER}), interaction="transaction"),
    FhirRoute("fhir_create_consent", "POST", "/fhir/Consent", frozenset({REFERRER}), "Consent", "create"),
    FhirRoute("fhir_read_consent", "GET", "/fhir/Consent/{id}", frozenset({REFERRER, ADMIN}),
              "Consent", "read"),
    FhirRoute("fhir_update_consent", "PUT", "/fhir/Consent/{id}", frozenset({REFERRER}), "Consent",
              "update"),
    FhirRoute("fhir_patch_consent", "PATCH", "/fhir/Consent/{id}", frozenset({REFERRER}), "Consent",
              "patch"),
    FhirRoute("fhir_create_service_request", "POST", "/fhir/ServiceRequest", frozenset({REFERRER}),
              "ServiceRequest", "create"),
    FhirRoute("fhir_read_service_request", "GET", "/fhir/ServiceRequest/{id}", READERS,
              "ServiceRequest", "read"),
    FhirRoute("fhir_search_service_request", "GET", "/fhir/ServiceRequest", READERS,
              "ServiceRequest", "search-type", SERVICE_REQUEST_PARAMS),
    FhirRoute("fhir_create_task", "POST", "/fhir/Task", frozenset({REFERRER}), "Task", "create"),
    FhirRoute("fhir_read_task", "GET", "/fhir/Task/{id}", READERS, "Task", "read"),
    FhirRoute("fhir_search_task", "GET", "/fhir/Task", READERS, "Task", "search-type", TASK_PARAMS),
    FhirRoute("fhir_update_task", "PUT", "/fhir/Task/{id}", frozenset({REFERRER, COORDINATOR}), "Task",
              "update"),
    FhirRoute("fhir_patch_task", "PATCH", "/fhir/Task/{id}", frozenset({REFERRER, COORDINATOR}), "Task",
              "patch"),
    FhirRoute("fhir_read_patient", "GET", "/fhir/Patient/{id}", READERS, "Patient", "read"),
    FhirRoute("fhir_create_subscription", "POST", "/fhir/Subscription", frozenset({REFERRER}),
              "Subscription", "create"),
    FhirRoute("fhir_read_subscription", "GET", "/fhir/Subscription/{id}", frozenset({REFERRER}),
              "Subscription", "read"),
    FhirRoute("fhir_search_subscription", "GET", "/fhir/Subscription", frozenset({REFERRER}),
              "Subscription", "search-type", ("status",)),
    FhirRoute("fhir_update_subscription", "PUT", "/fhir/Subscription/{id}", frozenset({REFERRER}),
              "Subscription", "update"),
    FhirRoute("fhir_patch_subscription", "PATCH", "/fhir/Subscription/{id}", frozenset({REFERRER}),
              "Subscription", "patch"),
    FhirRoute("fhir_delete_subscription", "DELETE", "/fhir/Subscription/{id}", frozenset({REFERRER}),
              "Subscription", "delete"),
    FhirRoute("fhir_read_organization", "GET", "/fhir/Organization/{id}", EVERY_ROLE, "Organization",
              "read"),
)

FHIR_ROUTES_BY_OPERATION = {route.operation: route for route in FHIR_ROUTES}
