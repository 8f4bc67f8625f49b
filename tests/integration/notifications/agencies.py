"""The agencies in these tests, as the gateway describes a caller."""

PEERS = {"agency_id": "ag-peers", "kind": "peer_group", "roles": ["coordinator"]}
HOSPITAL = {"agency_id": "ag-hospital", "kind": "hospital", "roles": ["referrer"]}
NETWORK_ADMIN = {"agency_id": "ag-network", "kind": "operator", "roles": ["operator"]}
