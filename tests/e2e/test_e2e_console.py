"""The web console in a real browser (Debian's Chromium through chromedriver) on a whole network.

One network for the module, on SQLite; the gateway alone reads its time from a clock file, so the
last test can move it past the idle timeout. Every journey page is checked with axe-core (no
serious or critical violation) and saved as a screenshot under ``var/test-artifacts/console``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import requests

from network.processes import ROOT, Client
from services.notifications import signing
from tests.harness.journeys import accept_proposal, consent_request, grant_consent, mentor, refer, wait
from tests.harness.network import running_network
from tests.support import HttpReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ARTIFACTS = ROOT / "var" / "test-artifacts" / "console"
AXE_VERSION = "4.14.1"
PASSWORD = "a long console pass phrase"
STEP = 30
# A browser shares this machine's cores with five processes: give each call the time it needs
# (inner deadlines shorter than outer ones), so a slow moment is not mistaken for an outage.
SETTINGS = {"CONSENT_RPC_TIMEOUT_SECONDS": "8", "RPC_TIMEOUT_SECONDS": "12",
            "GATEWAY_DEADLINE_SECONDS": "15"}


def _require_browser() -> None:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        subprocess.run(["make", "-s", "chromium"], cwd=ROOT, check=True)


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script, fetched from the npm registry once (``make axe``)."""
    subprocess.run(["make", "-s", "axe"], cwd=ROOT, check=True)
    return (ROOT / "var" / "test-cache" / f"axe-core-{AXE_VERSION}" / "axe.min.js").read_text()


@pytest.fixture(scope="module")
def network(request, rabbit_manager, tmp_path_factory, sms_provider):
    """This module's own network (the failure hook of tests/e2e attaches its logs), texting
    through the session's local SMS provider."""
    data = tmp_path_factory.mktemp("console")
    clock = data / "gateway-clock"
    settings = {**SETTINGS, **sms_provider.settings(), "CHECKIN_INTERVAL_SECONDS": "0.5",
                "ASSESSMENT_CHECK_SECONDS": "0.5"}
    with running_network(request.config.getoption("RABBIT_AMQP_URI"), rabbit_manager,
                         lambda process: f"sqlite:///{data / f'{process}.db'}", data,
                         vhost_prefix="rn_console", settings=settings,
                         # Outcome reports publish groups of two and more, so the page's charts show.
                         process_settings=lambda _vhost, _uri: {"gateway": {"CLOCK_FILE": str(clock)},
                                                                "outcomes": {"OUTCOMES_K": "2"}}
                         ) as network:
        network.clock_file = clock
        yield network


@pytest.fixture(scope="module")
def net(network):
    return network


class Person:
    """A person enrolled through the API, whose authenticator codes the test computes."""

    def __init__(self, client: Client, agency: Client, name: str, email: str, roles: list[str]) -> None:
        invited = agency.ok("POST", f"/v1/agencies/{agency.id}/people",
                            {"name": name, "email": email, "roles": roles})
        self.id = invited["id"]
        self.email = email
        self.agency_id = agency.id
        enrolment = client.ok("POST", "/v1/sessions/accept-invitation", {
            "invitation_token": invited["invitation_token"], "password": PASSWORD})
        self.totp = pyotp.TOTP(enrolment["totp_secret"])
        self.last_step = int(time.time()) // STEP - 2
        client.ok("POST", "/v1/sessions/totp", {"email": email, "password": PASSWORD, "code": self.code()})

    def code(self) -> str:
        """A code of a time step not used yet (each step opens one session), within the drift."""
        while True:
            now = int(time.time()) // STEP
            # The current step first: a code of the step before may age out while it is typed.
            for step in (now, now + 1, now - 1):
                if step > self.last_step:
                    self.last_step = step
                    return self.totp.at(step * STEP)
            time.sleep(1)


@pytest.fixture(scope="module")
def world(net):
    operator = Client(net.base_url, net.create_operator())
    anonymous = Client(net.base_url)

    def agency(name, kind, roles):
        return Client(net.base_url, operator.ok("POST", "/v1/agencies",
                                                {"name": name, "kind": kind, "roles": roles}))

    hospital = agency("Console Hospital", "hospital", ["referrer", "admin"])
    peers = agency("Console Peers", "peer_group", ["coordinator", "admin"])
    others = agency("Other Peers", "peer_group", ["coordinator", "admin"])
    for n in range(3):
        peers.ok("POST", "/v1/mentors", mentor(500 + n))
    funder = agency("Console Fund", "funder", ["funder"])
    # A funder holds no admin: the operator's key invites its people.
    for_funder = Client(net.base_url, {"id": funder.id, "api_key": operator.agency["api_key"]})
    return {
        "hospital": hospital, "peers": peers, "operator_agency": operator,
        # The operator's own staff, invited by the operator's key (its agency holds no admin).
        "operator": Person(anonymous, operator, "Opal Operator", "opal@network.example", ["operator"]),
        "referrer": Person(anonymous, hospital, "Rae Referrer", "rae@hospital.example", ["referrer"]),
        "coordinator": Person(anonymous, peers, "Cy Coordinator", "cy@peers.example", ["coordinator"]),
        "admin": Person(anonymous, peers, "Ada Admin", "ada@peers.example", ["admin"]),
        "hospital_admin": Person(anonymous, hospital, "Hal Admin", "hal@hospital.example", ["admin"]),
        "outsider": Person(anonymous, others, "Oz Outsider", "oz@other.example", ["coordinator"]),
        "funder": Person(anonymous, for_funder, "Flo Funder", "flo@fund.example", ["funder"]),
    }


def _driver(language: str = "en"):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    _require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", f"--lang={language}"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="module")
def browsers(request, net):
    opened = {}

    def open_browser(name: str, language: str = "en"):
        if name not in opened:
            opened[name] = _driver(language)
        return opened[name]

    yield open_browser
    for driver in opened.values():
        driver.quit()


def _gone(element) -> bool:
    """Whether ``element`` has left the document: the browser moved on to the next page.

    Chromium's driver says so with a stale reference, or, when it asks in the middle of the
    swap, with an inspector error that the node "does not belong to the document".
    """
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


class Console:
    """One browser's view of the console, checking each page it shows."""

    def __init__(self, driver, base_url: str, axe: str) -> None:
        self.driver, self.base_url, self.axe = driver, base_url, axe

    def go(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def find(self, css: str):
        from selenium.common.exceptions import NoSuchElementException
        from selenium.webdriver.common.by import By

        try:
            return self.driver.find_element(By.CSS_SELECTOR, css)
        except NoSuchElementException:
            shown = self.driver.find_element(By.TAG_NAME, "body").text[:2000]
            raise AssertionError(f"no {css} on {self.driver.current_url}:\n{shown}") from None

    def all(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def submit(self, target) -> None:
        """Click a submit button (a CSS selector or an element) and wait for the next page."""
        from selenium.webdriver.support.ui import WebDriverWait

        page = self.find("html")
        (self.find(target) if isinstance(target, str) else target).click()
        WebDriverWait(self.driver, 30).until(lambda _driver: _gone(page))
        # The old page is gone; wait until the new one has loaded its stylesheet too, or axe would
        # judge colours and layout of a page still arriving.
        WebDriverWait(self.driver, 30).until(
            lambda driver: driver.execute_script("return document.readyState") == "complete")

    def text(self) -> str:
        return self.find("main").text

    def fill(self, field_id: str, value: str) -> None:
        element = self.find(f"[id='{field_id}']")
        element.clear()
        element.send_keys(value)

    def set_value(self, field_id: str, value: str) -> None:
        """Date and time inputs: set as a picker would (their typed format follows the locale)."""
        self.driver.execute_script("arguments[0].value = arguments[1]",
                                   self.driver.find_element("id", field_id), value)

    def check(self, field_id: str, on: bool = True) -> None:
        box = self.driver.find_element("id", field_id)
        if box.is_selected() != on:
            box.click()

    def select(self, field_id: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.driver.find_element("id", field_id)).select_by_value(value)

    def switch_to(self, person: Person, language: str | None = None) -> None:
        """Forget this browser's cookies, optionally send another Accept-Language, and sign in."""
        self.driver.delete_all_cookies()
        if language:
            self.accept_language(language)
        self.sign_in(person)

    def accept_language(self, language: str) -> None:
        agent = self.driver.execute_script("return navigator.userAgent")
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.setUserAgentOverride",
                                    {"userAgent": agent, "acceptLanguage": language})

    def open_as(self, person: Person, path: str) -> None:
        """Open ``path``, signing ``person`` in first when this browser's session has ended (or the
        test runs alone)."""
        self.go(path)
        if "/console/sign-in" in self.driver.current_url:
            self.sign_in(person)
            self.go(path)

    def sign_in(self, person: Person) -> None:
        """Sign in; once more with the next code if a slow moment let the first one age out."""
        for _attempt in range(2):
            self.go("/console/sign-in")
            self.fill("email", person.email)
            self.fill("password", PASSWORD)
            self.fill("code", person.code())
            self.submit("#sign-in")
            if "/console/sign-in" not in self.driver.current_url:
                return
        raise AssertionError(self.text())

    def checked(self, name: str, narrow: bool = False) -> None:
        """No serious or critical axe violation; a screenshot; with ``narrow`` (once for each kind
        of page), nothing wider than a 375 px viewport."""
        self.driver.execute_script(self.axe)
        violations = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations));")
        serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations
                   if v["impact"] in ("serious", "critical")]
        assert not serious, f"{name}: {serious}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        if not narrow:
            return
        self.driver.set_window_size(375, 900)
        try:
            width = self.driver.execute_script("return document.documentElement.scrollWidth")
            assert width <= 375, f"{name} is {width} px wide at a 375 px viewport"
        finally:
            self.driver.set_window_size(1280, 1000)

    def headers(self, path: str) -> requests.Response:
        """The page at ``path`` fetched with this browser's cookies (to read its headers)."""
        cookies = {c["name"]: c["value"] for c in self.driver.get_cookies()}
        return requests.get(self.base_url + path, cookies=cookies, allow_redirects=False, timeout=30)


def _record_consent(page: Console, peers_id: str, tag: str) -> None:
    page.go("/console/consents/new")
    page.fill("participant.given_name", f"Canary{tag}")
    page.fill("participant.family_name", f"Zed{tag}")
    page.set_value("participant.birth_date", "1990-04-02")
    page.fill("participant.phone", "+15555550123")
    page.fill("participant.email", f"canary{tag.lower()}@example.org")
    page.fill("participant.preferred_language", "es")
    page.check(f"agency-{peers_id}")
    today = datetime.now(UTC)
    page.set_value("valid_from", (today - timedelta(days=1)).date().isoformat())
    page.set_value("valid_until", (today + timedelta(days=365)).date().isoformat())
    page.fill("signature.signer_name", f"Canary{tag} Zed{tag}")
    page.set_value("signature.signed_at", today.strftime("%Y-%m-%dT%H:%M"))


def _refer(page: Console) -> None:
    page.fill("reason", "Canary clinical note: peer support after detox discharge")
    page.fill("needs.languages", "es, en")
    page.fill("needs.age", "36")
    page.check("pathway-12-step")
    page.check("slot-mon-evening")
    page.submit("#create-referral")


def _proposal(peers: Client, referral_id: str) -> dict | None:
    return next((m for m in peers.ok("GET", "/v1/matches?status=proposed")["items"]
                 if m["referral_id"] == referral_id), None)


def test_a_referral_travels_from_consent_to_handoff_through_the_console(net, world, browsers, axe_source):
    hospital, peers = world["hospital"], world["peers"]
    referrer = Console(browsers("referrer"), net.base_url, axe_source)

    referrer.go("/console/")
    assert referrer.driver.current_url.endswith("/console/sign-in")
    referrer.checked("01-sign-in", narrow=True)
    referrer.sign_in(world["referrer"])
    assert referrer.driver.current_url.endswith("/console/referrals")
    assert "15 minutes" in referrer.find("#idle-notice").text
    referrer.checked("02-referrer-board", narrow=True)

    # The consent form, every Part 2 element, then the referral form it leads to.
    _record_consent(referrer, peers.id, "Journey")
    referrer.checked("03-consent-form", narrow=True)
    referrer.submit("#record-consent")
    assert referrer.find("#consent-recorded")
    referrer.checked("04-referral-form", narrow=True)
    referrer.fill("external_id", "ORD-CONSOLE-1")
    _refer(referrer)
    referral_id = referrer.driver.current_url.rsplit("/", 1)[1]
    world["journey"] = referral_id
    assert referrer.find("#referral-status").text == "requested"
    assert "Canary" not in referrer.driver.title and "Canary" not in referrer.driver.current_url
    response = referrer.headers(f"/console/referrals/{referral_id}")
    assert response.headers["Cache-Control"] == "no-store"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    session_cookie = next(c for c in referrer.driver.get_cookies() if c["name"] == "rn_console_session")
    assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Strict"
    referrer.checked("05-referral", narrow=True)

    # The proposed mentor's peer group: the proposal, its explanation, accept.
    match = wait(lambda: _proposal(peers, referral_id), "a proposal")
    coordinator = Console(browsers("coordinator"), net.base_url, axe_source)
    coordinator.sign_in(world["coordinator"])
    assert coordinator.driver.current_url.endswith("/console/inbox")
    card = coordinator.find(f"section[aria-labelledby='match-{match['id']}']")
    rows = card.find_elements("css selector", ".factors tbody tr")
    assert len(rows) == len(match["explanation"])
    total = sum(float(row.find_elements("css selector", "td")[0].text.split()[-1]) for row in rows)
    assert abs(total - match["score"]) < 0.01 * len(rows) + 0.005
    assert card.find_element("css selector", ".score").text == f"{match['score']:.2f}"
    assert "Offer expires in" in card.text
    # The needs as matching saw them, as the listing carries them: codes, no participant detail.
    assert match["needs"] == {"urgency": "routine", "languages": ["en", "es"], "pathways": ["12-step"],
                              "age_band": 35, "lived_experience": None, "substance_use_shared": False}
    needs = card.find_element("css selector", "dl.needs")
    assert needs.find_element("css selector", ".needs-languages").text == "en, es"
    assert needs.find_element("css selector", ".needs-age").text == "35–39"
    assert "not shared" in needs.find_element("css selector", ".needs-lived").text
    assert "Canary" not in card.text
    coordinator.checked("06-coordinator-inbox", narrow=True)
    coordinator.submit(card.find_element("css selector", "button.accept"))
    assert coordinator.driver.current_url.endswith(f"/console/referrals/{referral_id}")
    wait(lambda: hospital.ok("GET", f"/v1/referrals/{referral_id}")["status"] == "accepted", "acceptance")
    coordinator.go(f"/console/referrals/{referral_id}")
    coordinator.checked("07-coordinator-referral")
    coordinator.submit("#open-handoff")
    notice = coordinator.find("#notice")
    participant = coordinator.find("#participant")
    assert "42 CFR" in notice.text
    assert notice.location["y"] < participant.location["y"]
    assert "CanaryJourney" in participant.text
    assert "CanaryJourney" not in coordinator.driver.title
    handoff_headers = coordinator.headers(f"/console/referrals/{referral_id}/handoff").headers
    assert handoff_headers["Cache-Control"] == "no-store"
    coordinator.checked("08-handoff", narrow=True)

    # Progress: in progress, then on hold with a reason code.
    coordinator.go(f"/console/referrals/{referral_id}")
    coordinator.select("status", "in-progress")
    coordinator.submit("#report")
    assert coordinator.find("#referral-status").text == "in-progress"

    # The referrer's board shows the new status with its history.
    referrer.go("/console/referrals")
    column = referrer.find("section[aria-labelledby='col-in-progress']")
    assert referral_id[:8] in column.text
    assert [s in column.text for s in ("requested", "accepted", "in-progress")] == [True] * 3
    referrer.checked("09-board-after")

    # The peer group's admin finds the read, naming the person, in the audit trail.
    admin = Console(browsers("admin"), net.base_url, axe_source)
    admin.sign_in(world["admin"])
    admin.go(f"/console/audit?actor=person:{world['coordinator'].id}&action=access")
    ledger = admin.find("#ledger").text
    assert f"handoff:{referral_id}" in ledger and f"person:{world['coordinator'].id}" in ledger
    admin.checked("10-audit-trail", narrow=True)

    # A second referral, declined with a reason: it moves to the next mentor.
    _record_consent(referrer, peers.id, "Second")
    referrer.submit("#record-consent")
    _refer(referrer)
    second = referrer.driver.current_url.rsplit("/", 1)[1]
    world["second"] = second
    first_match = wait(lambda: _proposal(peers, second), "a proposal")
    coordinator.go("/console/inbox")
    card = coordinator.find(f"section[aria-labelledby='match-{first_match['id']}']")
    coordinator.select(f"reason-{first_match['id']}", "capacity")
    coordinator.submit(card.find_element("css selector", "button.decline"))
    assert "/console/inbox" in coordinator.driver.current_url
    coordinator.checked("11-after-decline")
    moved = wait(lambda: (m := _proposal(peers, second)) and m["id"] != first_match["id"] and m,
                 "the next mentor")
    assert moved["mentor_id"] != first_match["mentor_id"]

    # The roster: caseload against capacity.
    coordinator.go("/console/mentors")
    assert "/ 3" in coordinator.find("#roster").text
    coordinator.checked("12-roster", narrow=True)


def _row(page: Console, table: str, text: str):
    return next(row for row in page.all(f"#{table} tbody tr") if text in row.text)


def test_an_admin_invites_staff_changes_their_roles_deactivates_them_and_manages_keys(
        net, world, browsers, axe_source):
    peers = world["peers"]
    admin = Console(browsers("admin"), net.base_url, axe_source)
    admin.open_as(world["admin"], "/console/staff")
    admin.fill("name", "Nia New")
    admin.fill("email", "not an email")
    admin.check("invite-role-coordinator")
    admin.submit("#invite")
    assert admin.find("[id='email-error']").text
    assert admin.find("#name").get_attribute("value") == "Nia New"
    admin.fill("email", "nia@peers.example")
    admin.submit("#invite")
    assert admin.find("#invitation-token").text
    admin.checked("15-staff", narrow=True)
    person = next(p for p in peers.ok("GET", f"/v1/agencies/{peers.id}/people")["items"]
                  if p["email"] == "nia@peers.example")
    assert person["roles"] == ["coordinator"] and person["status"] == "invited"
    admin.check(f"role-{person['id']}-admin")
    admin.submit(_row(admin, "staff", "Nia New").find_element("css selector", "button.save-roles"))
    admin.submit(_row(admin, "staff", "Nia New").find_element("css selector", "button.deactivate"))
    person = next(p for p in peers.ok("GET", f"/v1/agencies/{peers.id}/people")["items"]
                  if p["id"] == person["id"])
    assert (person["roles"], person["status"]) == (["admin", "coordinator"], "deactivated")

    admin.go("/console/keys")
    admin.fill("name", "intake-system")
    admin.submit("#create-key")
    first = admin.find("#api-key").text
    assert first.startswith("rn_")
    admin.submit(_row(admin, "keys", "intake-system").find_element("css selector", "button.rotate"))
    second = admin.find("#api-key").text
    assert second.startswith("rn_") and second != first
    admin.checked("16-keys", narrow=True)
    second_id = second.split("_")[1]
    assert Client(net.base_url, {"api_key": second}).request("GET", "/v1/mentors").status_code == 200
    admin.submit(admin.find(f"tr[data-key='{second_id}'] button.revoke"))
    assert Client(net.base_url, {"api_key": second}).request("GET", "/v1/mentors").status_code == 401
    statuses = {k["id"]: k["status"] for k in peers.ok("GET", f"/v1/agencies/{peers.id}/keys")["items"]}
    assert statuses[second_id] == "revoked" and statuses[first.split("_")[1]] == "rotating"

    admin.go("/console/notifications")
    admin.fill("phone", "555")
    admin.submit("#save-settings")
    assert admin.find("[id='phone-error']").text and admin.find("#phone").get_attribute("value") == "555"
    admin.fill("phone", "+15555550100")
    admin.fill("email", "intake@peers.example")
    admin.submit("#save-settings")
    assert admin.find("#settings-saved")
    assert peers.ok("GET", "/v1/notification-settings")["email"] == "intake@peers.example"
    # A test webhook: refused without a URL; then signed, sent and shown in the delivery log.
    admin.submit("#send-test")
    assert admin.find("#test-refused")
    receiver = HttpReceiver(lambda _request: (200, b"")).start()
    try:
        admin.fill("webhook_url", receiver.url + "/hooks")
        admin.submit("#save-settings")
        secret = admin.find("#webhook-secret").text
        admin.submit("#send-test")
        assert "took the test event" in admin.find("#test-result").text
        tested = admin.find("#deliveries tr.tested")
        assert "notification.test" in tested.text and "sent" in tested.text
        [request] = receiver.received
        assert signing.verify(secret, request.body, request.headers["X-Signature"])
        assert json.loads(request.body)["type"] == "notification.test"
    finally:
        receiver.stop()
    admin.checked("17-notifications", narrow=True)

    # The hospital's admin reads the accounting of disclosures of a participant whose consent the
    # hospital holds: the handoff read disclosed to the peer group, within the chosen days.
    participant = world["hospital"].ok("GET", f"/v1/referrals/{world['journey']}")["participant_id"]
    admin.switch_to(world["hospital_admin"])
    admin.go("/console/disclosures")
    admin.submit("#show-disclosures")
    assert admin.find("[id='participant_id-error']").text
    today = datetime.now(UTC).date()
    admin.fill("disclosure-participant", participant)
    admin.set_value("disclosure-since", (today - timedelta(days=1)).isoformat())
    admin.set_value("disclosure-until", today.isoformat())
    admin.submit("#show-disclosures")
    rows = admin.all("#disclosures tbody tr")
    assert any(peers.id in row.text for row in rows)
    assert participant not in admin.driver.current_url
    admin.checked("17b-disclosures", narrow=True)
    admin.set_value("disclosure-since", (today + timedelta(days=1)).isoformat())
    admin.set_value("disclosure-until", (today + timedelta(days=1)).isoformat())
    admin.submit("#show-disclosures")
    assert admin.find("#disclosures-empty")
    # An id no consent of the hospital names: one answer, whether or not the participant exists.
    admin.fill("disclosure-participant", str(uuid.uuid4()))
    admin.submit("#show-disclosures")
    assert admin.find("#disclosures-not-found")


def test_another_agencys_person_gets_the_same_not_found_page_as_for_an_unknown_id(
        net, world, browsers, axe_source):
    referral_id = world["journey"]
    outsider = Console(browsers("admin"), net.base_url, axe_source)
    outsider.switch_to(world["outsider"])
    pages = {}
    for label, path in (("theirs", f"/console/referrals/{referral_id}"),
                        ("unknown", f"/console/referrals/{uuid.uuid4()}"),
                        ("theirs-handoff", f"/console/referrals/{referral_id}/handoff"),
                        ("unknown-handoff", f"/console/referrals/{uuid.uuid4()}/handoff")):
        outsider.go(path)
        pages[label] = outsider.find("main").get_attribute("outerHTML")
        assert outsider.find("#not-found")
    assert pages["theirs"] == pages["unknown"] == pages["theirs-handoff"] == pages["unknown-handoff"]
    answer = outsider.headers(f"/console/referrals/{referral_id}")
    assert answer.status_code == 404
    assert outsider.headers(f"/console/referrals/{uuid.uuid4()}").text == answer.text
    outsider.checked("13-not-found", narrow=True)


def test_bad_consent_input_is_named_beside_its_fields_and_typed_values_stay(net, world, browsers, axe_source):
    referrer = Console(browsers("referrer"), net.base_url, axe_source)
    referrer.go("/console/consents/new")
    referrer.fill("participant.given_name", "CanaryTyped")
    referrer.fill("participant.phone", "not a phone")
    for box in ("purpose-peer-support-referral", "class-referral-reason", "class-peer_group"):
        referrer.check(box, False)
    referrer.submit("#record-consent")
    assert referrer.find("#form-errors")
    for field in ("participant.family_name", "participant.birth_date", "participant.phone", "purposes",
                  "valid_from", "signature.signer_name"):
        assert referrer.find(f"[id='{field}-error']").text, field
    assert referrer.find("[id='participant.given_name']").get_attribute("value") == "CanaryTyped"
    assert referrer.find("[id='participant.phone']").get_attribute("value") == "not a phone"
    referrer.checked("14-consent-errors")


def test_the_console_speaks_spanish_by_choice_or_by_the_browser(net, world, browsers, axe_source):
    # The person's choice, with the switcher.
    referrer = Console(browsers("referrer"), net.base_url, axe_source)
    referrer.go("/console/referrals")
    referrer.select("language", "es")
    referrer.submit(".tools button[type=submit]")
    assert referrer.driver.current_url.endswith("/console/referrals")
    assert referrer.find("h1").text == "Derivaciones por estado"
    assert referrer.find("html").get_attribute("lang") == "es"
    referrer.checked("18-es-board")
    referrer.go("/console/consents/new")
    assert "Registrar un formulario de consentimiento" in referrer.text()
    referrer.checked("19-es-consent-form")
    referral_id = world["journey"]
    referrer.go(f"/console/referrals/{referral_id}")
    assert referrer.find("#referral-status").text == "en curso"
    referrer.checked("20-es-referral")

    # The browser's Accept-Language, without a choice.
    coordinator = Console(browsers("coordinator"), net.base_url, axe_source)
    coordinator.driver.delete_all_cookies()
    coordinator.accept_language("es-MX,es;q=0.9")
    coordinator.go("/console/sign-in")
    assert coordinator.find("h1").text == "Iniciar sesión"
    coordinator.sign_in(world["coordinator"])
    assert coordinator.find("h1").text == "Emparejamientos propuestos"
    assert "Por qué este mentor" in coordinator.text()
    coordinator.checked("21-es-inbox")
    coordinator.go(f"/console/referrals/{referral_id}/handoff")
    assert "Aviso según 42 CFR 2.32" in coordinator.text()
    coordinator.checked("22-es-handoff")
    coordinator.accept_language("en")


def test_mentors_progress_search_and_revocation_through_their_pages(net, world, browsers, axe_source):
    hospital, journey, second = world["hospital"], world["journey"], world["second"]
    coordinator = Console(browsers("coordinator"), net.base_url, axe_source)
    coordinator.go("/console/mentors/new")
    for field, value in (("display_name", "Mentor Console"), ("age", "44"), ("radius_km", "12"),
                         ("capacity", "many"), ("languages", "es, en"), ("location.lat", "40.7"),
                         ("location.lon", "-73.9")):
        coordinator.fill(field, value)
    coordinator.set_value("certified_until", (datetime.now(UTC) + timedelta(days=20)).date().isoformat())
    coordinator.check("pathway-secular")
    coordinator.check("slot-sat-morning")
    coordinator.submit("#save-mentor")
    assert coordinator.find("[id='capacity-error']").text
    assert coordinator.find("#display_name").get_attribute("value") == "Mentor Console"
    coordinator.checked("24-mentor-errors", narrow=True)
    coordinator.fill("capacity", "2")
    coordinator.submit("#save-mentor")
    mentor_id = coordinator.driver.current_url.rsplit("/", 1)[1]
    coordinator.select("active", "false")
    coordinator.submit("#save-mentor")
    coordinator.checked("25-mentor-edit")
    coordinator.go("/console/mentors")
    row = _row(coordinator, "roster", "Mentor Console")
    assert "paused" in row.text and "expires within 30 days" in row.text
    assert f"/console/mentors/{mentor_id}" in row.find_element("css selector", "a").get_attribute("href")

    # Progress: on hold, with its reason code, seen on the referrer's timeline.
    coordinator.go(f"/console/referrals/{journey}")
    coordinator.select("status", "on-hold")
    coordinator.select("report-reason-code", "unable-to-contact")
    coordinator.submit("#report")
    assert coordinator.find("#referral-status").text == "on-hold"

    referrer = Console(browsers("referrer"), net.base_url, axe_source)
    participant = hospital.ok("GET", f"/v1/referrals/{journey}")["participant_id"]
    referrer.go("/console/referrals")
    referrer.fill("search-participant", participant)
    referrer.submit("#search")
    cards = referrer.all("article.referral")
    assert [card.get_attribute("data-referral") for card in cards] == [journey]
    assert "unable-to-contact" in cards[0].text or "no se pudo contactar" in cards[0].text
    assert participant not in referrer.driver.current_url
    referrer.checked("26-board-search")
    # The referrer's own identifier finds the same referral, through the API's own filter.
    referrer.go("/console/referrals")
    referrer.fill("search-external", "ORD-CONSOLE-1")
    referrer.submit("#search")
    assert [card.get_attribute("data-referral") for card in referrer.all("article.referral")] == [journey]
    assert "ORD-CONSOLE-1" in referrer.find("article.referral .external-id").text
    referrer.fill("search-external", "ORD-NONE")
    referrer.submit("#search")
    assert referrer.all("article.referral") == []

    # Revoking the second referral's consent cancels it.
    referrer.go(f"/console/referrals/{second}")
    referrer.fill("revoke-reason", "participant asked")
    referrer.submit("#revoke-consent")
    wait(lambda: hospital.ok("GET", f"/v1/referrals/{second}")["status"] == "cancelled", "cancellation")


def test_after_the_handoff_the_coordinator_logs_a_contact_and_sees_check_ins_and_scores(
        net, world, browsers, axe_source, sms_provider):
    hospital, peers = world["hospital"], world["peers"]
    phone = "+15555550188"
    body = consent_request(hospital.id, tag="Engaged", agencies=(peers.id,))
    body["participant"]["phone"] = phone
    made = refer(hospital, hospital.ok("POST", "/v1/consents", body))
    rid = made["id"]
    accept_proposal([peers], hospital, rid)
    engagement = f"/v1/referrals/{rid}/engagement"
    wait(lambda: peers.request("GET", engagement).status_code == 200, "the engagement to begin")

    coordinator = Console(browsers("coordinator"), net.base_url, axe_source)
    coordinator.open_as(world["coordinator"], f"/console/referrals/{rid}")
    coordinator.submit("#open-engagement")
    assert coordinator.driver.current_url.endswith(f"/console/referrals/{rid}/engagement")
    assert coordinator.find("#checkin-status").text == "not started"
    assert "not yet" in coordinator.find("#first-contact").text

    # A contact through the form; a bad duration first is named beside its field, values kept.
    coordinator.set_value("contacted_at", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"))
    coordinator.select("mode", "call")
    coordinator.select("outcome", "reached")
    coordinator.fill("duration_minutes", "2000")
    coordinator.fill("note", "CanaryNote: talked about the Tuesday group")
    coordinator.submit("#log-contact")
    assert coordinator.find("#duration_minutes-error").text
    assert coordinator.find("#note").get_attribute("value").startswith("CanaryNote")
    coordinator.fill("duration_minutes", "25")
    coordinator.submit("#log-contact")
    assert coordinator.find("#engagement-notice")
    row = coordinator.all("#contacts tbody tr")[0].text
    assert "call" in row and "reached" in row and "25" in row and "CanaryNote" in row
    assert "hours after the acceptance" in coordinator.find("#first-contact").text
    assert "CanaryNote" not in coordinator.driver.title and "CanaryNote" not in coordinator.driver.current_url
    coordinator.checked("40-engagement-contact", narrow=True)

    # Check-ins consented verbally, inside a window that is always open: active at once.
    coordinator.select("method", "verbal")
    coordinator.set_value("window.start", "00:00")
    coordinator.set_value("window.end", "23:59")
    coordinator.fill("window.timezone", "UTC")
    coordinator.submit("#start-checkins")
    assert coordinator.find("#checkin-status").text == "active"
    assert "verbal" in coordinator.find("#checkin-state").text

    # The participant answers a check-in by text and the BARC-10 through their link.
    wait(lambda: sms_provider.to(phone), "the first check-in")
    assert sms_provider.deliver(f"{net.base_url}/v1/sms/inbound", phone, "4").status_code == 200
    link = wait(lambda: next((w for text in sms_provider.to(phone) for w in text.split()
                              if w.startswith(f"{net.base_url}/v1/assessment?t=")), None), "the link")
    token = link.split("t=", 1)[1]
    answers = {"t": token, "belonging": "5",
               **{f"item{n}": str(v) for n, v in enumerate([4, 5, 3, 6, 2, 4, 5, 6, 3, 4], 1)}}
    assert requests.post(f"{net.base_url}/v1/assessment", data=answers, timeout=30).status_code == 200
    wait(lambda: [a["score"] for a in peers.ok("GET", engagement)["answers"]] == [4], "the answer")

    coordinator.go(f"/console/referrals/{rid}/engagement")
    assert coordinator.all("#answers tbody tr")[0].find_elements("css selector", "td")[1].text == "4"
    first = coordinator.all("#assessments tbody tr")[0]
    assert "at the handoff" in first.text and first.find_element("css selector", ".barc-total").text == "42"
    assert coordinator.find("#trend-chart")
    coordinator.checked("41-engagement-scores", narrow=True)

    # Another peer group's coordinator gets the not-found page, as for an unknown referral.
    outsider = Console(browsers("outsider"), net.base_url, axe_source)
    outsider.open_as(world["outsider"], f"/console/referrals/{rid}/engagement")
    theirs = outsider.find("main").get_attribute("outerHTML")
    assert outsider.find("#not-found") and "CanaryNote" not in theirs
    outsider.go(f"/console/referrals/{uuid.uuid4()}/engagement")
    assert outsider.find("main").get_attribute("outerHTML") == theirs


def _park_a_letter(amqp_uri: str, event_id: str, consumer: str) -> None:
    """A dead letter for ``consumer``, whose queue (bound to the requeue exchange like a consumer's)
    this test reads to see the replay arrive."""
    from kombu import Queue

    from services.kit import broker, topology

    with broker.connect(amqp_uri) as connection:
        channel = connection.channel()
        topology.DEAD_LETTERS(channel).declare()
        Queue(consumer, exchange=topology.REQUEUE, routing_key=consumer)(channel).declare()
    body = {"id": event_id, "type": "referral.requested", "payload": {"note": "CanaryDeadLetter"}}
    broker.publish(amqp_uri, body, exchange="", routing_key=topology.DEAD_LETTERS.name,
                   headers={broker.CONSUMER: consumer, broker.ERROR: "KeyError", broker.ATTEMPT: 5,
                            broker.PARKED_AT: "2026-12-01T09:00:00Z"}, message_id=event_id)


def _replayed(amqp_uri: str, consumer: str):
    from kombu import Queue

    from services.kit import broker, topology

    with broker.connect(amqp_uri) as connection:
        queue = Queue(consumer, exchange=topology.REQUEUE, routing_key=consumer)(connection.channel())
        return queue.get(no_ack=True)


def test_the_operator_checks_readiness_registers_an_agency_verifies_the_ledger_and_replays_a_dead_letter(
        net, world, browsers, axe_source):
    operator = Console(browsers("admin"), net.base_url, axe_source)
    operator.switch_to(world["operator"])
    assert operator.driver.current_url.endswith("/console/readiness")
    rows = {row.get_attribute("data-service"): row.text for row in operator.all("#readiness tbody tr")}
    assert set(rows) == {"consent", "referrals", "matching", "notifications", "engagement", "outcomes",
                         "gateway"}
    assert all("ok" in text for text in rows.values()) and operator.find("#ready-summary")
    operator.checked("27-operator-readiness", narrow=True)

    # Register an agency: its key is shown once and opens the API; then deactivate it.
    operator.go("/console/agencies")
    operator.fill("name", "Console Clinic")
    operator.select("kind", "clinic")
    operator.check("agency-role-coordinator")
    operator.submit("#create-agency")
    assert operator.find("[id='roles-error']").text
    assert operator.find("#name").get_attribute("value") == "Console Clinic"
    operator.check("agency-role-coordinator", False)
    operator.check("agency-role-referrer")
    operator.submit("#create-agency")
    key = operator.find("#agency-key").text
    clinic = Client(net.base_url, {"api_key": key})
    assert clinic.request("GET", "/v1/referrals").status_code == 200
    operator.checked("28-operator-agencies", narrow=True)
    row = _row(operator, "agencies", "Console Clinic")
    operator.submit(row.find_element("css selector", "button.deactivate"))
    assert "deactivated" in _row(operator, "agencies", "Console Clinic").text
    assert clinic.request("GET", "/v1/referrals").status_code == 401
    operator.go("/console/agencies")
    assert not operator.all("#agency-key")  # shown once

    # A ledger verification in the background: its result and the checkpoints' cover.
    operator.go("/console/verifications")
    operator.submit("#start-verification")
    job_path = operator.driver.current_url.split(net.base_url, 1)[1]
    assert job_path.startswith("/console/verifications/")

    def finished():
        operator.go(job_path)
        return operator.find("#verification-state").text == "done"

    wait(finished, "the verification")
    assert "The ledger is intact" in operator.find("#verification-result").text
    assert "Signed checkpoints cover" in operator.find("#verification-checkpoints").text
    operator.checked("29-operator-verification", narrow=True)

    # Dead letters: listed without their content, one replayed to its consumer.
    amqp_uri, consumer, event_id = net.env["AMQP_URI"], "console.replay_check", str(uuid.uuid4())
    _park_a_letter(amqp_uri, event_id, consumer)
    operator.go("/console/dead-letters")
    row = operator.find(f"tr[data-event='{event_id}']")
    assert consumer in row.text and "KeyError" in row.text
    assert "CanaryDeadLetter" not in operator.text()
    operator.checked("30-operator-dead-letters", narrow=True)
    operator.submit(row.find_element("css selector", "button.replay"))
    assert event_id in operator.find("#replayed").text
    assert not operator.all(f"tr[data-event='{event_id}']")
    arrived = wait(lambda: _replayed(amqp_uri, consumer), "the replayed letter")
    assert arrived.properties["message_id"] == event_id

    # The operator's staff page offers only the operator role; a coordinator's pages are not its.
    operator.go("/console/staff")
    assert {box.get_attribute("value") for box in operator.all("input[name=roles]")} == {"operator"}
    assert operator.headers(f"/console/referrals/{world['journey']}").status_code == 403


def test_a_funder_reads_outcome_tables_and_charts_in_english_and_spanish_and_nothing_else(
        net, world, browsers, axe_source):
    # Two waiting referrals in one group (no mentor in the peer group their consents name).
    hospital = world["hospital"]
    quiet = Client(net.base_url, world["operator_agency"].ok("POST", "/v1/agencies", {
        "name": "Quiet Peers", "kind": "peer_group", "roles": ["coordinator"]}))
    for _ in range(2):
        refer(hospital, grant_consent(hospital, classes=(), agencies=(quiet.id,)), languages=("en",))
    network_view = world["operator_agency"]
    query = f"/v1/reports/outcomes?referrer={hospital.id}&measure=waitlist_length"
    wait(lambda: network_view.ok("GET", query)["tables"][0]["rows"], "the waiting referrals in the report")

    funder = Console(browsers("funder"), net.base_url, axe_source)
    funder.switch_to(world["funder"])
    assert funder.driver.current_url.endswith("/console/reports")
    nav = [a.get_attribute("href").rsplit("/console", 1)[1] for a in funder.all("nav a")]
    assert nav == ["/reports"]
    assert funder.find("#report-note").text.startswith("Every figure describes at least 2 participants")
    assert funder.all("#table-referrals_made svg.chart rect.chart-bar")
    assert funder.all("#table-waitlist_length table tbody tr")
    funder.checked("40-funder-reports", narrow=True)
    funder.select("by", "urgency")
    funder.submit("#show-report")
    assert "by=urgency" in funder.driver.current_url
    assert "routine" in funder.find("#table-referrals_made table").text
    funder.checked("41-funder-reports-by-urgency")
    # Nothing else: another page's operations refuse a funder.
    funder.go("/console/referrals")
    assert funder.find("#problem") and not funder.all("#search-participant")
    funder.switch_to(world["funder"], language="es")
    assert funder.find("h1").text == "Informes de resultados"
    funder.checked("42-funder-reports-es")
    # An agency's admin reads its own agency's view.
    admin = Console(browsers("admin"), net.base_url, axe_source)
    admin.switch_to(world["hospital_admin"])
    admin.go("/console/reports")
    assert "your agency" in admin.find("#report-note").text
    admin.checked("43-admin-reports")


def test_posts_without_their_token_are_refused_and_an_idle_session_ends(net, world, browsers, axe_source):
    referrer = Console(browsers("referrer"), net.base_url, axe_source)
    referrer.go("/console/referrals")
    cookies = {c["name"]: c["value"] for c in referrer.driver.get_cookies()}
    referral_id = world["journey"]
    before = world["hospital"].ok("GET", f"/v1/referrals/{referral_id}")["status"]
    for form in ({}, {"csrf_token": "0" * 64}):
        refused = requests.post(f"{net.base_url}/console/referrals/{referral_id}/cancel",
                                data={**form, "reason_code": "other"}, cookies=cookies,
                                allow_redirects=False, timeout=30)
        assert refused.status_code == 403 and 'id="csrf-refused"' in refused.text
    assert world["hospital"].ok("GET", f"/v1/referrals/{referral_id}")["status"] == before
    signed_out = requests.post(f"{net.base_url}/console/sign-in",
                               data={"email": world["referrer"].email, "password": PASSWORD,
                                     "code": "000000"},
                               allow_redirects=False, timeout=30)
    assert signed_out.status_code == 403

    # The gateway's clock moves past the idle timeout: the next page asks to sign in again.
    net.clock_file.write_text((datetime.now(UTC) + timedelta(minutes=16)).isoformat())
    referrer.go("/console/referrals")
    assert "/console/sign-in" in referrer.driver.current_url
    assert referrer.find("#session-ended")
    referrer.checked("23-session-ended")

