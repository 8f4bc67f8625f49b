"""An agency as a FHIR ``Organization``: the directory's name and kind, nothing else."""

from __future__ import annotations

from typing import Any

from gateway.fhir.codes import AGENCY_KIND_SYSTEM, ORGANIZATION_TYPE, coding

# The HL7 organization type closest to each kind, beside the network's own kind.
_HL7_TYPES = {"hospital": "prov", "clinic": "prov", "sober_living": "cg", "peer_group": "cg",
              "operator": "other"}


def organization(agency: dict[str, Any]) -> dict[str, Any]:
    """``agency``: ``{"id", "name", "kind"}`` (and ``status`` for the operator's view)."""
    kind = agency["kind"]
    return {
        "resourceType": "Organization",
        "id": agency["id"],
        "active": agency.get("status", "active") == "active",
        "type": [{"coding": [coding(AGENCY_KIND_SYSTEM, kind),
                             coding(ORGANIZATION_TYPE, _HL7_TYPES.get(kind, "other"))]}],
        "name": agency["name"],
    }
