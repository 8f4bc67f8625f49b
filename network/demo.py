"""The demo network (agencies, keys, twenty mentors) and one referral walked end to end.

Everything goes through the public HTTP API, as a clinic system or coordinator
would use it; only the network operator's key comes from the command line, as in production.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from services.kit.vocabulary import LIVED_EXPERIENCE, PATHWAYS, SLOTS

AGENCIES = (
    {"name": "St. Mary Hospital", "kind": "hospital", "roles": ["referrer", "admin"]},
    {"name": "Harbor Sober Living", "kind": "sober_living", "roles": ["referrer", "admin"]},
    {"name": "Bridge Peer Recovery", "kind": "peer_group", "roles": ["coordinator", "admin"]},
    {"name": "Comunidad en Recuperación", "kind": "peer_group", "roles": ["coordinator", "admin"]},
)
# The demo's staff, who sign in to the console (/console/) with DEMO_PASSWORD and a TOTP code
# (``referral-network demo-code EMAIL`` prints the current one). Agency by name → people.
DEMO_PASSWORD = "demo console pass phrase"
DEMO_PEOPLE = {
    "Network Operations": (("Oren Patel", "operator@network.demo", ["operator"]),),
    "St. Mary Hospital": (("Hana Okoye", "referrer@stmary.demo", ["referrer"]),
                          ("Ari Levin", "admin@stmary.demo", ["admin"])),
    "Harbor Sober Living": (("Sol Rivera", "referrer@harbor.demo", ["referrer"]),),
    "Bridge Peer Recovery": (("Dee Carter", "coordinator@bridge.demo", ["coordinator"]),
                             ("Max Weber", "admin@bridge.demo", ["admin"])),
    "Comunidad en Recuperación": (("Lucía Gómez", "coordinador@comunidad.demo", ["coordinator"]),),
}
LANGUAGE_SETS = (["en"], ["es", "en"], ["es"], ["en", "fr"], ["en", "zh"])
# The mentor ladder in the demo: mentor n's level, and two supervisors per peer group (name-free
# references; the group's engagement settings say how to reach them). Trainees offering more
# places than the trainee cap show the cap in their proposals' explanation and on the roster.
DEMO_LEVELS = ("senior", "certified", "certified", "trainee")
DEMO_SUPERVISORS = {"Bridge Peer Recovery": ("bridge-lead-1", "bridge-lead-2"),
                    "Comunidad en Recuperación": ("comunidad-lead-1", "comunidad-lead-2")}
EXPERIENCE = LIVED_EXPERIENCE[:5]  # codes: lived experience is a vocabulary, never free text


class Api:
    def __init__(self, base_url: str, key: str | None = None) -> None:
        self.base_url, self.key = base_url, key

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        """The JSON answer. A 503 to a read, or to a POST under its Idempotency-Key, is sent again
        after its Retry-After (a few times), as the API asks of a client: it never creates twice."""
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        retried = method == "GET" or "Idempotency-Key" in headers
        for attempt in range(4):
            response = requests.request(method, self.base_url + path, json=body, headers=headers,
                                        timeout=30)
            if response.status_code != 503 or not retried or attempt == 3:
                break
            time.sleep(min(float(response.headers.get("Retry-After") or 1), 2.0))
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} → {response.status_code}: {response.text}")
        return response.json()


def seed(base_url: str, path: Path, env: dict[str, str]) -> dict[str, Any]:
    """Create the demo agencies and mentors once; later runs reuse ``path``.

    Keys in ``path`` that this network does not know (its gateway database was dropped or
    replaced) are set aside as ``<path>.stale`` and the demo network is seeded again.
    """
    if path.exists():
        credentials = json.loads(path.read_text())
        if _keys_open(base_url, credentials):
            print(f"Reusing the demo network in {path}")
            placed = place_on_ladder(base_url, credentials["agencies"])
            if placed:
                print(f"  placed {placed} demo mentors on the ladder (levels and supervisors)")
            if not credentials.get("people"):
                print("  (seeded before the console had demo staff: remove var/ to seed them)")
                return credentials
            known = {person["email"] for person in credentials["people"]}
            added = seed_people(base_url, credentials["agencies"], skip=known)
            if added:  # staff the demo gained since this network was seeded (the operator's)
                credentials["people"] += added
                _write_credentials(path, credentials)
                print(f"  added demo console users: {', '.join(p['email'] for p in added)}")
            return credentials
        stale = path.with_name(path.name + ".stale")
        path.replace(stale)
        print(f"The keys in {path} do not open this network (its database is new); "
              f"seeding again (old keys moved to {stale})")
    operator = _create_operator(env)
    agencies = [operator]
    for n, spec in enumerate(AGENCIES):
        agencies.append(Api(base_url, operator["api_key"])("POST", "/v1/agencies", spec,
                                                       **{"Idempotency-Key": f"demo-agency-{n}"}))
    rng = random.Random(7)
    peer_groups = [a for a in agencies if a["kind"] == "peer_group"]
    for n in range(20):
        group = peer_groups[n % 2]
        Api(base_url, group["api_key"])("POST", "/v1/mentors", _mentor(n, rng) | _ladder(n, group["name"]),
                                        **{"Idempotency-Key": f"demo-mentor-{n}"})
    for group in peer_groups:
        _engagement_settings(base_url, group)
    credentials = {"agencies": [{k: a[k] for k in ("id", "name", "kind", "roles", "api_key")}
                                for a in agencies]}
    credentials["people"] = seed_people(base_url, credentials["agencies"])
    _write_credentials(path, credentials)
    levels = [DEMO_LEVELS[n % len(DEMO_LEVELS)] for n in range(20)]
    ladder = ", ".join(f"{levels.count(level)} {level}" for level in ("trainee", "certified", "senior"))
    print(f"Seeded {len(agencies)} agencies, 20 mentors ({ladder}, each with a supervisor) and "
          f"{len(credentials['people'])} console users; keys in {path}")
    return credentials


def _write_credentials(path: Path, credentials: dict[str, Any]) -> None:
    # API keys: readable by the owner only from the first byte written, not after a chmod.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file may have been created more open
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(credentials, indent=2))


def seed_people(base_url: str, agencies: list[dict[str, Any]],
                skip: set[str] = frozenset()) -> list[dict[str, Any]]:
    """Invite and enrol the demo staff of each agency (but those in ``skip``); their TOTP secrets
    go into the (0600) credentials file, so ``referral-network demo-code EMAIL`` can show a code.
    The operator's staff are invited by the operator's own key, like any agency's."""
    import pyotp

    people = []
    for agency in agencies:
        for name, email, roles in DEMO_PEOPLE.get(agency["name"], ()):
            if email in skip:
                continue
            invited = Api(base_url, agency["api_key"])("POST", f"/v1/agencies/{agency['id']}/people",
                                                       {"name": name, "email": email, "roles": roles})
            enrolled = Api(base_url)("POST", "/v1/sessions/accept-invitation", {
                "invitation_token": invited["invitation_token"], "password": DEMO_PASSWORD})
            Api(base_url)("POST", "/v1/sessions/totp", {
                "email": email, "password": DEMO_PASSWORD,
                "code": pyotp.TOTP(enrolled["totp_secret"]).now()})
            people.append({"email": email, "name": name, "roles": roles, "agency_id": agency["id"],
                           "totp_secret": enrolled["totp_secret"]})
    return people


def current_code(credentials: dict[str, Any], email: str, at: float | None = None) -> str:
    """The TOTP code a demo person's authenticator would show now (``KeyError``: no such person)."""
    import pyotp

    for person in credentials.get("people", []):
        if person["email"].lower() == email.lower():
            return pyotp.TOTP(person["totp_secret"]).at(time.time() if at is None else at)
    raise KeyError(email)


def _keys_open(base_url: str, credentials: dict[str, Any]) -> bool:
    """Whether the network still knows the demo operator's key (401 means it does not)."""
    operator = _operator(credentials)
    if operator is None:
        return False
    response = requests.get(f"{base_url}/v1/agencies", timeout=30,
                            headers={"Authorization": f"Bearer {operator['api_key']}"})
    if response.status_code >= 500:
        raise RuntimeError(f"GET /v1/agencies → {response.status_code}: {response.text}")
    return response.status_code != 401


def _operator(credentials: dict[str, Any]) -> dict[str, Any] | None:
    return next((a for a in credentials.get("agencies", []) if a.get("kind") == "operator"), None)


def _create_operator(env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "services.kit.cli", "agency", "create", "--name", "Network Operations",
         "--kind", "operator", "--role", "operator"],
        env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def _mentor(n: int, rng: random.Random) -> dict[str, Any]:
    evenings = [s for s in SLOTS if s.endswith("evening") or s.startswith(("sat", "sun"))]
    return {
        "display_name": f"Mentor {chr(65 + n)}.",
        "languages": LANGUAGE_SETS[n % len(LANGUAGE_SETS)],
        "gender": ("female", "male", "non-binary")[n % 3],
        "age": 28 + (n * 7) % 35,
        "pathways": rng.sample(PATHWAYS, k=1 + n % 2),
        "lived_experience": rng.sample(EXPERIENCE, k=1 + n % 3),
        "location": {"lat": round(40.70 + rng.uniform(-0.1, 0.1), 4),
                     "lon": round(-73.95 + rng.uniform(-0.1, 0.1), 4)},
        "radius_km": 10 + n % 4 * 5,
        "remote_ok": n % 3 != 0,
        "availability": rng.sample(evenings, k=3) + rng.sample(SLOTS, k=2),
        "capacity": 2 + n % 3,
        "certified_until": (date.today() + timedelta(days=365)).isoformat(),
    }


def _ladder(n: int, group_name: str) -> dict[str, str]:
    """Mentor n's level and supervisor in the demo."""
    supervisors = DEMO_SUPERVISORS.get(group_name) or ("lead-1", "lead-2")
    return {"level": DEMO_LEVELS[n % len(DEMO_LEVELS)], "supervisor": supervisors[(n // 2) % 2]}


def _engagement_settings(base_url: str, group: dict[str, Any]) -> None:
    """The peer group's on-call ladder and how to reach its supervisors (fictional 555-01xx
    numbers; texts go out only where an SMS provider is configured)."""
    base = 100 + 10 * (sum(map(ord, group["name"])) % 8)
    supervisors = DEMO_SUPERVISORS.get(group["name"]) or ()
    Api(base_url, group["api_key"])("PUT", "/v1/engagement-settings", {
        "sender_name": group["name"][:60],
        "on_call": [{"phone": f"+1555555{base:04d}", "language": "en"},
                    {"phone": f"+1555555{base + 1:04d}", "language": "en", "role": "admin"}],
        "supervisors": [{"ref": ref, "phone": f"+1555555{base + 2 + i:04d}", "language": "en"}
                        for i, ref in enumerate(supervisors)]})


def place_on_ladder(base_url: str, agencies: list[dict[str, Any]]) -> int:
    """Give the demo mentors of a network seeded before the ladder their level and supervisor
    (and their groups the engagement settings); mentors already placed are left as they are."""
    placed = 0
    for group in (a for a in agencies if a["kind"] == "peer_group"):
        api = Api(base_url, group["api_key"])
        mentors, page = [], None
        while True:
            listing = api("GET", "/v1/mentors" + (f"?page={page}" if page else ""))
            mentors += listing["items"]
            page = listing.get("next_page")
            if not page:
                break
        unplaced = [m for m in mentors if m.get("level") is None
                    and m["display_name"].startswith("Mentor ") and len(m["display_name"]) == 9]
        for mentor in unplaced:
            ladder = _ladder(ord(mentor["display_name"][7]) - 65, group["name"])
            try:
                api("PATCH", f"/v1/mentors/{mentor['id']}", ladder)
            except RuntimeError:  # a caseload above the level's cap (409): the supervisor alone
                api("PATCH", f"/v1/mentors/{mentor['id']}", {"supervisor": ladder["supervisor"]})
            placed += 1
        if unplaced:
            _engagement_settings(base_url, group)
    return placed


def _agency(credentials: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [a for a in credentials["agencies"] if a["kind"] == kind]


def _wait(check, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := check()):
            return value
        time.sleep(0.3)
    raise RuntimeError(f"gave up waiting for {what}")


def walk(base_url: str, credentials: dict[str, Any]) -> None:
    """One referral from consent to handoff, printing each step."""
    hospital = Api(base_url, _agency(credentials, "hospital")[0]["api_key"])
    operator = Api(base_url, _operator(credentials)["api_key"])
    hospital_id = _agency(credentials, "hospital")[0]["id"]
    now = datetime.now(UTC)
    step = iter(range(1, 20))

    consent = hospital("POST", "/v1/consents", {
        "participant": {"given_name": "Ana", "family_name": "Demo", "birth_date": "1990-04-02",
                        "phone": "+15555550100", "email": "ana@example.org", "preferred_language": "es"},
        "disclosers": [hospital_id],
        "recipients": {"agencies": [], "classes": ["peer_group"]},
        "purposes": ["peer-support-referral"],
        # With substance-use, the network may match on lived experience and the handoff carries it.
        "data_classes": ["demographics", "contact", "referral-reason", "substance-use"],
        "valid_from": (now - timedelta(minutes=1)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "signature": {"signed_by": "participant", "signer_name": "Ana Demo",
                      "signed_at": now.isoformat(), "method": "electronic"},
    }, **{"Idempotency-Key": str(uuid.uuid4())})
    print(f"{next(step)}. The hospital recorded consent {consent['id']} ({consent['status']}) "
          "for peer groups in the network.")
    referral = hospital("POST", "/v1/referrals", {
        "participant_id": consent["participant_id"], "consent_id": consent["id"],
        "reason": "peer support after detox discharge", "urgency": "routine",
        "needs": {"languages": ["es", "en"], "mentor_gender": "female", "mentor_gender_required": False,
                  "pathways": ["12-step"], "lived_experience": ["opioids"], "age": 36,
                  "location": {"lat": 40.71, "lon": -74.0}, "remote_ok": True,
                  "availability": ["mon-evening", "sat-morning"]},
    }, **{"Idempotency-Key": str(uuid.uuid4())})
    print(f"{next(step)}. It referred the participant: referral {referral['id']} is {referral['status']}.")

    view = _wait(lambda: (v := hospital("GET", f"/v1/referrals/{referral['id']}"))
                 and (v.get("match") or v.get("waitlisted")) and v, "a proposal")
    if view.get("waitlisted"):
        print(f"{next(step)}. Every fitting mentor is full: the referral waits for a free place.")
        return
    match = view["match"]
    print(f"{next(step)}. Matching proposed mentor {match['mentor_id']} (score {match['score']:.2f}).")
    for group in _agency(credentials, "peer_group"):
        coordinator = Api(base_url, group["api_key"])
        mine = [m for m in coordinator("GET", "/v1/matches?status=proposed")["items"]
                if m["referral_id"] == referral["id"]]
        if mine:
            break
    else:
        raise RuntimeError("no coordinator sees the proposal")
    top = sorted((f for f in mine[0]["explanation"] if f["factor"] != "level_cap"),
                 key=lambda f: -f["contribution"])[:3]
    proposed = next((m for m in coordinator("GET", "/v1/mentors")["items"]
                     if m["id"] == match["mentor_id"]), {})
    capped = next((f for f in mine[0]["explanation"] if f["factor"] == "level_cap"), None)
    ladder = (f"; a {proposed.get('level') or 'not yet levelled'} mentor supervised by "
              f"{proposed.get('supervisor') or 'nobody yet'}"
              + (f", whose level caps them at {capped['cap']} (load {capped['caseload']})" if capped else ""))
    print(f"{next(step)}. {group['name']} sees why: "
          + ", ".join(f"{f['factor']} {f['contribution']:.2f}" for f in top) + ladder)
    coordinator("POST", f"/v1/matches/{mine[0]['id']}/accept")
    print(f"{next(step)}. The coordinator accepted the match.")
    _wait(lambda: hospital("GET", f"/v1/referrals/{referral['id']}")["status"] == "accepted", "acceptance")
    print(f"{next(step)}. The referral is accepted; the hospital sees it.")
    handoff = coordinator("GET", f"/v1/referrals/{referral['id']}/handoff")
    print(f"{next(step)}. The peer group read the handoff packet under consent "
          f"{handoff['consent'].get('id', consent['id'])}: fields {sorted(handoff['participant'])}, "
          f"data classes {handoff.get('data_classes')}, with the referral's reason and needs.")
    coordinator("POST", f"/v1/referrals/{referral['id']}/status", {"status": "in-progress"})
    coordinator("POST", f"/v1/referrals/{referral['id']}/status", {
        "status": "on-hold", "reason_code": "unable-to-contact", "reason": "no answer for two weeks"})
    history = hospital("GET", f"/v1/referrals/{referral['id']}")["history"]
    print(f"{next(step)}. Peer support started, then paused; the referrer sees: "
          + " → ".join(h["status"] for h in history)
          + f" (reason code {history[-1]['reason_code']}; the peer group's words stay with it)")
    verified = operator("GET", "/v1/audit/verify")
    disclosures = hospital("GET", f"/v1/participants/{consent['participant_id']}/disclosures")["items"]
    print(f"{next(step)}. The network operator verified the ledger ({verified}); the hospital, "
          f"holding the consent, sees {len(disclosures)} disclosure(s) for the participant.")
