"""The console's pages, as entrypoints of the gateway service (``ConsolePages`` is mixed into it).

Every page reads and changes data only through ``Operations.call`` (the gateway's own route
methods), as the signed-in person: the API's role checks, object checks and ledgering apply
unchanged. Participant data appears in page bodies only, never in a URL, a title or a log line;
searches by participant id are posted, not put in a query string.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from console import csrf, i18n
from console.bars import factor_bars, level_cap
from console.charts import chart_of
from console.web import (
    CSRF_COOKIE,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    Operations,
    Problem,
    clear_cookie,
    page,
    set_cookie,
)
from services.engagement.domain.model import MODES, OPT_IN_METHODS, OUTCOMES
from services.kit.vocabulary import (
    DATA_CLASSES,
    GENDERS,
    LIVED_EXPERIENCE,
    PATHWAYS,
    PURPOSES,
    SIGNATURE_METHODS,
    SIGNERS,
    SLOTS,
    STATUS_REASONS,
    URGENCIES,
)
from services.matching.domain.ladder import LEVELS

HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
BOARD_STATUSES = ("requested", "accepted", "in-progress", "on-hold", "completed", "failed",
                  "rejected", "cancelled")
REPORTED_STATUSES = ("in-progress", "on-hold", "completed", "failed")
ASSIGNABLE_ROLES = ("referrer", "coordinator", "admin")
OPERATOR_ROLES = ("operator",)  # the operator agency's people can hold no other role
HOME_BY_ROLE = (("coordinator", "/console/inbox"), ("referrer", "/console/referrals"),
                ("admin", "/console/audit"), ("operator", "/console/readiness"),
                ("funder", "/console/reports"))
# Who reads the outcome reports (gateway.policy: get_outcomes_report).
REPORT_READERS = ("funder", "admin", "operator")
REPORT_BREAKDOWNS = ("urgency", "referrer", "peer_group", "language")
# The agencies the operator registers, and the roles each kind may hold (``gateway.policy``).
AGENCY_KINDS_SHOWN = ("hospital", "clinic", "sober_living", "peer_group", "funder")
AGENCY_ROLES_SHOWN = ("referrer", "coordinator", "admin", "funder")
# A referral whose peer group may have an engagement with its participant (after the handoff).
ENGAGED_STATUSES = ("accepted", "in-progress", "on-hold", "completed", "failed")
BARC10_RANGE = (10, 60)


def _environment(language: str) -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(i18n.translations(language), newstyle=True)
    return env


ENVIRONMENTS = {language: _environment(language) for language in i18n.LANGUAGES}


def time_left(expires_at: str | None, now: datetime) -> int | None:
    """Whole minutes until ``expires_at`` (an ISO instant), never below zero; None without one."""
    if not expires_at:
        return None
    end = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    return max(0, int((end - now).total_seconds() // 60))


class Page:
    """One request's console context: language, session, CSRF binding, operations."""

    def __init__(self, service: Any, request: Request) -> None:
        self.service = service
        self.request = request
        self.language = i18n.choose(request.cookies.get(LANGUAGE_COOKIE),
                                    request.headers.get("Accept-Language"))
        self.token = request.cookies.get(SESSION_COOKIE)
        self.binding = request.cookies.get(CSRF_COOKIE)
        self.new_binding: str | None = None
        if not self.binding:
            self.new_binding = self.binding = csrf.new_binding()
        self.secret = csrf.secret_from_pepper(service.pepper)
        self.ops = Operations(service, self.token, getattr(request, "console_request_id", "-"))
        self.me: dict[str, Any] | None = None
        self.drop_session = False

    # -- who is here ----------------------------------------------------------------------

    def signed_in(self) -> dict[str, Any] | None:
        """The session's person (``get_session``), or None when there is no live session."""
        if not self.token:
            return None
        try:
            self.me = self.ops.call("get_session")
        except Problem as problem:
            if problem.status in (401, 403):
                self.drop_session = True
                return None
            raise
        return self.me

    def has(self, role: str) -> bool:
        return bool(self.me) and role in self.me["roles"]

    # -- answers --------------------------------------------------------------------------

    def csrf_ok(self) -> bool:
        return csrf.is_valid(self.secret, self.request.cookies.get(CSRF_COOKIE),
                             self.request.form.get("csrf_token"))

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        env = ENVIRONMENTS[self.language]
        idle_minutes = int(self.service.session_rules.idle.total_seconds() // 60)
        values = {"me": self.me, "lang": self.language, "languages": i18n.LANGUAGES,
                  "csrf_token": csrf.token_for(self.secret, self.binding), "has": self.has,
                  "idle_minutes": idle_minutes,
                  "idle_seconds": int(self.service.session_rules.idle.total_seconds()),
                  "next_path": self.request.path}
        body = env.get_template(template).render(**(values | context))
        return self.finish(Response(body, status=status, mimetype="text/html"))

    def redirect(self, location: str) -> Response:
        return self.finish(redirect(location, code=303))

    def finish(self, response: Response) -> Response:
        if self.new_binding:
            set_cookie(response, self.request, CSRF_COOKIE, self.new_binding)
        if self.drop_session:
            clear_cookie(response, self.request, SESSION_COOKIE)
        return response

    def not_found(self) -> Response:
        """One page for every unknown or unreachable object: it repeats nothing of the URL."""
        return self.render("not_found.html", status=404, next_path="/console/")

    def problem(self, problem: Problem) -> Response:
        """The page for a problem no form handles: sign-in again, not found, refused, unavailable."""
        if problem.status == 401:
            self.drop_session = True
            return self.redirect("/console/sign-in?ended=1")
        if problem.status == 404:
            return self.not_found()
        return self.render("problem.html", status=problem.status, problem=problem)


def _form_list(form, name: str) -> list[str]:
    return [value for value in form.getlist(name) if value]


def _number(value: str | None, kind=float) -> Any:
    """A number from a form field; the text itself when it is not one, for the API to refuse."""
    if value is None or value.strip() == "":
        return None
    try:
        return kind(value)
    except ValueError:
        return value


def _instant(value: str | None) -> str | None:
    """``2026-11-01T10:00`` (a datetime-local field, read as UTC) or a date, as an ISO instant."""
    if not value:
        return None
    if "T" not in value:
        value += "T00:00"
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()
    except ValueError:
        return value


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value not in (None, "", [])}


def consent_body(form, agency_id: str) -> dict[str, Any]:
    """The ``POST /v1/consents`` body from the consent form (the recording agency discloses)."""
    signature = _drop_empty({
        "signed_by": form.get("signature.signed_by"), "signer_name": form.get("signature.signer_name"),
        "authority": form.get("signature.authority"), "signed_at": _instant(form.get("signature.signed_at")),
        "method": form.get("signature.method")})
    body: dict[str, Any] = {
        "participant": _drop_empty({
            "given_name": form.get("participant.given_name"),
            "family_name": form.get("participant.family_name"),
            "birth_date": form.get("participant.birth_date"), "phone": form.get("participant.phone"),
            "email": form.get("participant.email"),
            "preferred_language": form.get("participant.preferred_language")}),
        "disclosers": [agency_id],
        "recipients": {"agencies": _form_list(form, "recipients.agencies"),
                       "classes": _form_list(form, "recipients.classes")},
        "purposes": _form_list(form, "purposes"),
        "data_classes": _form_list(form, "data_classes"),
        "valid_from": _instant(form.get("valid_from")),
        "signature": signature,
    }
    if form.get("expires_on") == "end-of-treatment":
        body["expires_on"] = "end-of-treatment"
    else:
        body["valid_until"] = _instant(form.get("valid_until"))
    if form.get("include_later_members"):
        body["include_later_members"] = True
    return {key: value for key, value in body.items() if value is not None}


def referral_body(form) -> dict[str, Any]:
    """The ``POST /v1/referrals`` body from the referral form."""
    languages = [part.strip() for part in (form.get("needs.languages") or "").split(",") if part.strip()]
    location = None
    if form.get("needs.location.lat") or form.get("needs.location.lon"):
        location = {"lat": _number(form.get("needs.location.lat")),
                    "lon": _number(form.get("needs.location.lon"))}
    needs = _drop_empty({
        "languages": languages, "mentor_gender": form.get("needs.mentor_gender"),
        "pathways": _form_list(form, "needs.pathways"),
        "lived_experience": _form_list(form, "needs.lived_experience"),
        "age": _number(form.get("needs.age"), int), "location": location,
        "availability": _form_list(form, "needs.availability")})
    needs["remote_ok"] = bool(form.get("needs.remote_ok"))
    return _drop_empty({"participant_id": form.get("participant_id"), "consent_id": form.get("consent_id"),
                        "reason": form.get("reason"), "urgency": form.get("urgency"), "needs": needs,
                        "external_id": (form.get("external_id") or "").strip()})


def board_query(search: dict[str, str]) -> dict[str, str]:
    """The ``GET /v1/referrals`` query of the board's search: the participant id, the referrer's
    own identifier, and a day (UTC) as the instants around it (the API compares strictly)."""
    query = {"participant_id": search.get("participant_id"), "external_id": search.get("external_id")}
    day = search.get("date")
    if day:
        try:
            start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        except ValueError:
            query["created_after"] = day  # the API names it beside the field
        else:
            query["created_after"] = (start - timedelta(microseconds=1)).isoformat()
            query["created_before"] = (start + timedelta(days=1)).isoformat()
    return {key: value for key, value in query.items() if value}


def day_window(since: str | None, until: str | None) -> dict[str, str]:
    """``since``/``until`` instants for two days (UTC) typed in a form, both days included; a
    value that is not a day is passed on for the API to name beside its field."""
    window: dict[str, str] = {}
    for name, day, shift in (("since", since, 0), ("until", until, 1)):
        if not day:
            continue
        try:
            start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        except ValueError:
            window[name] = day
        else:
            window[name] = (start + timedelta(days=shift)).isoformat()
    return window


def mentor_body(form) -> dict[str, Any]:
    """A mentor's fields from the roster form."""
    languages = [part.strip() for part in (form.get("languages") or "").split(",") if part.strip()]
    location = None
    if form.get("location.lat") or form.get("location.lon"):
        location = {"lat": _number(form.get("location.lat")), "lon": _number(form.get("location.lon"))}
    return _drop_empty({
        "display_name": form.get("display_name"), "languages": languages, "gender": form.get("gender"),
        "age": _number(form.get("age"), int), "pathways": _form_list(form, "pathways"),
        "lived_experience": _form_list(form, "lived_experience"), "location": location,
        "radius_km": _number(form.get("radius_km")), "remote_ok": bool(form.get("remote_ok")),
        "availability": _form_list(form, "availability"), "capacity": _number(form.get("capacity"), int),
        "certified_until": form.get("certified_until")}) | {
        "remote_ok": bool(form.get("remote_ok")),
        # On the ladder or not: an empty choice takes the mentor off it (own capacity only).
        "level": form.get("level") or None, "supervisor": (form.get("supervisor") or "").strip() or None}


def contact_body(form) -> dict[str, Any]:
    """The ``POST /v1/referrals/{id}/contacts`` body from the contact form (a datetime-local
    field, read as UTC)."""
    return _drop_empty({"contacted_at": _instant(form.get("contacted_at")), "mode": form.get("mode"),
                        "outcome": form.get("outcome"),
                        "duration_minutes": _number(form.get("duration_minutes"), int),
                        "note": (form.get("note") or "").strip()})


def checkin_body(form) -> dict[str, Any]:
    """The ``POST /v1/referrals/{id}/check-ins`` body from the check-in form."""
    window = _drop_empty({"start": form.get("window.start"), "end": form.get("window.end"),
                          "timezone": (form.get("window.timezone") or "").strip()})
    return _drop_empty({"method": form.get("method"), "channel": form.get("channel"),
                        "cadence_days": _number(form.get("cadence_days"), int),
                        "contact_window": window or None})


def score_trend(assessments: list[dict[str, Any]], width: int = 240, height: int = 80,
                pad: int = 8) -> list[dict[str, Any]]:
    """The completed BARC-10 totals as points of a small chart: ``x``, ``y`` (SVG user units, the
    scale's 10 at the bottom and 60 at the top), with the questionnaire's ``due`` and ``total``."""
    done = [a for a in assessments if a.get("total") is not None]
    low, high = BARC10_RANGE
    step = (width - 2 * pad) / max(1, len(done) - 1)
    return [{"x": round(pad + n * step if len(done) > 1 else width / 2, 1),
             "y": round(height - pad - (a["total"] - low) / (high - low) * (height - 2 * pad), 1),
             "due": a["due"], "total": a["total"]} for n, a in enumerate(done)]


VOCABULARY = {"purposes": PURPOSES, "data_classes": DATA_CLASSES, "signers": SIGNERS,
              "methods": SIGNATURE_METHODS, "pathways": PATHWAYS, "lived_experience": LIVED_EXPERIENCE,
              "slots": SLOTS, "genders": GENDERS, "urgencies": URGENCIES, "reasons": STATUS_REASONS,
              "board_statuses": BOARD_STATUSES, "reported_statuses": REPORTED_STATUSES, "levels": LEVELS}


class ConsolePages:
    """The console's entrypoints; mixed into ``gateway.service.GatewayService``."""

    # -- frame ----------------------------------------------------------------------------

    @page("GET", "/console/static/<string:name>")
    def console_static(self, request, name):
        path = STATIC / name
        if path.suffix not in STATIC_TYPES or not path.is_file() or path.parent != STATIC:
            return Response("Not found", status=404, mimetype="text/plain")
        response = Response(path.read_bytes(), mimetype=STATIC_TYPES[path.suffix])
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    @page("GET", "/console/")
    def console_home(self, request):
        view = Page(self, request)
        if view.signed_in() is None:
            return view.redirect("/console/sign-in")
        for role, path in HOME_BY_ROLE:
            if view.has(role):
                return view.redirect(path)
        return view.render("home.html")

    @page("GET", "/console")
    def console_root(self, request):
        return redirect("/console/", code=308)

    @page("GET", "/console/<path:rest>")
    def console_unknown(self, request, rest):
        view = Page(self, request)
        view.signed_in()
        return view.not_found()

    @page("GET,POST", "/console/sign-in")
    def console_sign_in(self, request):
        view = Page(self, request)
        form = {"email": ""}
        failed = False
        if request.method == "POST":
            if not view.csrf_ok():
                return view.render("csrf.html", status=403)
            form["email"] = request.form.get("email", "")
            try:
                session = Operations(self, None, view.ops.request_id).call("sign_in", body={
                    "email": form["email"], "password": request.form.get("password", ""),
                    "code": request.form.get("code", "").strip()})
            except Problem as problem:
                if problem.status not in (401, 422):
                    return view.problem(problem)
                failed = True
            else:
                response = view.redirect("/console/")
                set_cookie(response, request, SESSION_COOKIE, session["token"])
                # A fresh CSRF binding for the signed-in browser.
                set_cookie(response, request, CSRF_COOKIE, csrf.new_binding())
                return response
        return view.render("sign_in.html", status=401 if failed else 200, form=form, failed=failed,
                           ended=request.args.get("ended") == "1")

    @page("POST", "/console/sign-out")
    def console_sign_out(self, request):
        view = Page(self, request)
        if not view.csrf_ok():
            return view.render("csrf.html", status=403)
        if view.token:
            try:
                view.ops.call("sign_out")
            except Problem as problem:
                if problem.status not in (401, 403):
                    return view.problem(problem)
        response = view.redirect("/console/sign-in")
        clear_cookie(response, request, SESSION_COOKIE)
        set_cookie(response, request, CSRF_COOKIE, csrf.new_binding())
        return response

    @page("POST", "/console/language")
    def console_language(self, request):
        view = Page(self, request)
        if not view.csrf_ok():
            return view.render("csrf.html", status=403)
        chosen = request.form.get("language", "")
        back = request.form.get("next") or "/console/"
        if not back.startswith("/console/") or "//" in back:
            back = "/console/"
        response = view.redirect(back)
        if chosen in i18n.LANGUAGES:
            set_cookie(response, request, LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600)
        return response

    # -- coordinator ----------------------------------------------------------------------

    def _signed_in_page(self, request) -> tuple[Page, Response | None]:
        view = Page(self, request)
        if view.signed_in() is None:
            ended = "?ended=1" if view.drop_session else ""
            return view, view.redirect(f"/console/sign-in{ended}")
        if request.method == "POST" and not view.csrf_ok():
            return view, view.render("csrf.html", status=403)
        return view, None

    @page("GET", "/console/inbox")
    def console_inbox(self, request):
        view, early = self._signed_in_page(request)
        if early:
            return early
        try:
            matches = view.ops.call("list_matches", query={"status": "proposed"})["items"]
            mentors = {m["id"]: m["display_name"] for m in view.ops.call("list_mentors")["items"]}
        except Problem as problem:
            return view.problem(problem)
        now = self.clock()
        shown = [{**match, "bars": factor_bars(match["explanation"], match["score"]),
                  "level_cap": level_cap(match["explanation"]),
                  "minutes_left": time_left(match.get("expires_at"), now)} for match in matches]
        return view.render("inbox.html", matches=shown, mentors=mentors, reasons=STATUS_REASONS,
                           notice=request.args.get("done"))

    @page("POST", "/console/matches/<string:match_id>/accept")
    def console_accept(self, request, match_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        try:
            match = view.ops.call("accept_match", match_id)
        except Problem as problem:
            if problem.status == 409:
                return view.render("problem.html", status=409, problem=problem)
            return view.problem(problem)
        return view.redirect(f"/console/referrals/{match['referral_id']}")

    @page("POST", "/console/matches/<string:match_id>/decline")
    def console_decline(self, request, match_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        try:
            view.ops.call("decline_match", match_id, body={
                "reason_code": request.form.get("reason_code") or None})
        except Problem as problem:
            if problem.status in (409, 422):
                return view.render("problem.html", status=problem.status, problem=problem)
            return view.problem(problem)
        return view.redirect("/console/inbox?done=declined")

    @page("GET", "/console/referrals/<string:referral_id>/handoff")
    def console_handoff(self, request, referral_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        try:
            handoff = view.ops.call("get_handoff", referral_id)
        except Problem as problem:
            if problem.status in (403, 409) and problem.code != "forbidden":
                return view.render("problem.html", status=problem.status, problem=problem)
            return view.problem(problem)
        return view.render("handoff.html", handoff=handoff)

    @page("GET", "/console/referrals/<string:referral_id>")
    def console_referral(self, request, referral_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        return self._referral_page(view, referral_id)

    def _referral_page(self, view: Page, referral_id: str, status: int = 200, **context) -> Response:
        try:
            referral = view.ops.call("get_referral", referral_id)
        except Problem as problem:
            return view.problem(problem)
        return view.render("referral.html", status=status, referral=referral, v=VOCABULARY, **context)

    @page("POST", "/console/referrals/<string:referral_id>/status")
    def console_report(self, request, referral_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        body = _drop_empty({"status": request.form.get("status"),
                            "reason_code": request.form.get("reason_code"),
                            "reason": request.form.get("reason")})
        try:
            view.ops.call("report_referral_status", referral_id, body=body)
        except Problem as problem:
            if problem.status in (409, 422):
                return self._referral_page(view, referral_id, status=problem.status,
                                           report_problem=problem, report_form=body)
            return view.problem(problem)
        return view.redirect(f"/console/referrals/{referral_id}")

    @page("POST", "/console/referrals/<string:referral_id>/cancel")
    def console_cancel(self, request, referral_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        body = _drop_empty({"reason_code": request.form.get("reason_code"),
                            "reason": request.form.get("reason")})
        try:
            view.ops.call("cancel_referral", referral_id, body=body)
        except Problem as problem:
            if problem.status in (409, 422):
                return self._referral_page(view, referral_id, status=problem.status,
                                           cancel_problem=problem, cancel_form=body)
            return view.problem(problem)
        return view.redirect(f"/console/referrals/{referral_id}")

    # -- after the handoff: the peer group's engagement with the participant --------------

    @page("GET", "/console/referrals/<string:referral_id>/engagement")
    def console_engagement(self, request, referral_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        return self._engagement_page(view, referral_id, notice=request.args.get("done"))

    def _engagement_page(self, view: Page, referral_id: str, status: int = 200, **context) -> Response:
        try:
            engagement = view.ops.call("get_engagement", referral_id)
        except Problem as problem:
            return view.problem(problem)
        contacts = sorted(engagement["contacts"], key=lambda c: c["contacted_at"], reverse=True)
        answers = sorted(engagement["answers"], key=lambda a: a["received_at"], reverse=True)[:10]
        assessments = engagement["assessments"]
        context.setdefault("contact_form", {})
        context.setdefault("contact_errors", {})
        context.setdefault("checkin_form", {})
        context.setdefault("checkin_errors", {})
        return view.render("engagement.html", status=status, engagement=engagement, contacts=contacts,
                           answers=answers, points=score_trend(assessments["items"]),
                           modes=MODES, outcomes=OUTCOMES,
                           opt_in_methods=OPT_IN_METHODS, idempotency_key=str(uuid.uuid4()),
                           now=self.clock().strftime("%Y-%m-%dT%H:%M"), **context)

    @page("POST", "/console/referrals/<string:referral_id>/contacts")
    def console_log_contact(self, request, referral_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        body = contact_body(request.form)
        try:
            view.ops.call("log_contact", referral_id, body=body,
                          idempotency_key=request.form.get("idempotency_key"))
        except Problem as problem:
            if problem.status not in (409, 422):
                return view.problem(problem)
            errors = problem.errors or {"contacted_at": [problem.body.get("detail", "")]}
            shown = {name: request.form.get(name, "") for name in
                     ("contacted_at", "mode", "outcome", "duration_minutes", "note")}
            return self._engagement_page(view, referral_id, status=problem.status,
                                         contact_form=shown, contact_errors=errors)
        return view.redirect(f"/console/referrals/{referral_id}/engagement?done=contact")

    @page("POST", "/console/referrals/<string:referral_id>/check-ins")
    def console_start_checkins(self, request, referral_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        body = checkin_body(request.form)
        try:
            view.ops.call("start_checkins", referral_id, body=body)
        except Problem as problem:
            if problem.status not in (409, 422):
                return view.problem(problem)
            # Nested field errors (``contact_window.start``) are shown beside the window's fields.
            errors = {key.replace("contact_window.", "window."): value
                      for key, value in problem.errors.items()}
            errors = errors or {"method": [problem.body.get("detail", "")]}
            shown = {name: request.form.get(name, "") for name in
                     ("method", "channel", "cadence_days", "window.start", "window.end", "window.timezone")}
            return self._engagement_page(view, referral_id, status=problem.status,
                                         checkin_form=shown, checkin_errors=errors)
        return view.redirect(f"/console/referrals/{referral_id}/engagement?done=checkins")

    @page("POST", "/console/crises/<string:crisis_id>/acknowledge")
    def console_acknowledge_crisis(self, request, crisis_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        try:
            crisis = view.ops.call("acknowledge_crisis", crisis_id)
        except Problem as problem:
            return view.problem(problem)
        return view.redirect(f"/console/referrals/{crisis['referral_id']}/engagement?done=acknowledged")

    @page("GET", "/console/mentors")
    def console_mentors(self, request):
        view, early = self._signed_in_page(request)
        if early:
            return early
        try:
            mentors = view.ops.call("list_mentors")["items"]
        except Problem as problem:
            return view.problem(problem)
        today = self.clock().date()
        for mentor in mentors:
            until = mentor.get("certified_until")
            days = (datetime.fromisoformat(until).date() - today).days if until else None
            mentor["certification_days"] = days
            mentor["certification_soon"] = days is not None and days <= 30
        return view.render("mentors.html", mentors=mentors)

    @page("GET,POST", "/console/mentors/new")
    def console_new_mentor(self, request):
        view, early = self._signed_in_page(request)
        if early:
            return early
        form, errors = {}, {}
        if request.method == "POST":
            form = mentor_body(request.form)
            try:
                mentor = view.ops.call("create_mentor", body=form,
                                       idempotency_key=request.form.get("idempotency_key"))
            except Problem as problem:
                if problem.status != 422:
                    return view.problem(problem)
                errors = problem.errors
            else:
                return view.redirect(f"/console/mentors/{mentor['id']}")
        return view.render("mentor_form.html", status=422 if errors else 200, form=form, errors=errors,
                           v=VOCABULARY, mentor=None, idempotency_key=str(uuid.uuid4()))

    @page("GET,POST", "/console/mentors/<string:mentor_id>")
    def console_edit_mentor(self, request, mentor_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        try:
            mentors = view.ops.call("list_mentors")["items"]
        except Problem as problem:
            return view.problem(problem)
        mentor = next((m for m in mentors if m["id"] == mentor_id), None)
        if mentor is None:
            return view.not_found()
        form, errors, saved = dict(mentor), {}, False
        if request.method == "POST":
            form = mentor_body(request.form) | {"active": request.form.get("active") == "true"}
            try:
                mentor = view.ops.call("update_mentor", mentor_id, body=form)
            except Problem as problem:
                if problem.status not in (409, 422):
                    return view.problem(problem)
                errors = problem.errors or {"_schema": [problem.body.get("detail", "")]}
            else:
                form, saved = dict(mentor), True
        return view.render("mentor_form.html", status=422 if errors else 200, form=form, errors=errors,
                           v=VOCABULARY, mentor=mentor, saved=saved, idempotency_key="")

    # -- referrer -------------------------------------------------------------------------

    @page("GET,POST", "/console/referrals")
    def console_board(self, request):
        view, early = self._signed_in_page(request)
        if early:
            return early
        search: dict[str, str] = {}
        if request.method == "POST":
            search = {name: request.form.get(name, "").strip()
                      for name in ("participant_id", "external_id", "date")}
        errors: dict[str, list[str]] = {}
        try:
            referrals = view.ops.call("list_referrals", query=board_query(search))["items"]
        except Problem as problem:
            if problem.status != 422:
                return view.problem(problem)
            errors, referrals = problem.errors, []
        # Each listed referral carries its history, as GET /v1/referrals answers it.
        columns = [(status, [r for r in referrals if r["status"] == status]) for status in BOARD_STATUSES]
        return view.render("board.html", status=422 if errors else 200, columns=columns,
                           search=search, errors=errors, searched=request.method == "POST")

    @page("GET,POST", "/console/consents/new")
    def console_new_consent(self, request):
        view, early = self._signed_in_page(request)
        if early:
            return early
        try:
            agencies = view.ops.call("list_agencies")["items"]
        except Problem as problem:
            return view.problem(problem)
        peer_groups = [a for a in agencies if a.get("kind") == "peer_group"]
        form: dict[str, Any] = {"purposes": ["peer-support-referral"],
                                "data_classes": ["demographics", "contact", "referral-reason"],
                                "recipients.classes": ["peer_group"]}
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            form = {key: request.form.getlist(key) if len(request.form.getlist(key)) > 1
                    or key in ("purposes", "data_classes", "recipients.classes", "recipients.agencies")
                    else request.form.get(key) for key in request.form}
            try:
                body = consent_body(request.form, view.me["agency_id"])
                consent = view.ops.call("grant_consent", body=body,
                                        idempotency_key=request.form.get("idempotency_key"))
            except Problem as problem:
                if problem.status != 422:
                    return view.problem(problem)
                errors = problem.errors
            else:
                return view.render("referral_form.html", form={
                    "consent_id": consent["id"], "participant_id": consent["participant_id"],
                    "needs.remote_ok": True}, errors={}, v=VOCABULARY, consent=consent,
                    idempotency_key=str(uuid.uuid4()))
        return view.render("consent_form.html", status=422 if errors else 200, form=form, errors=errors,
                           v=VOCABULARY, peer_groups=peer_groups, idempotency_key=str(uuid.uuid4()))

    @page("GET,POST", "/console/referrals/new")
    def console_new_referral(self, request):
        view, early = self._signed_in_page(request)
        if early:
            return early
        form: dict[str, Any] = {"needs.remote_ok": True}
        errors: dict[str, list[str]] = {}
        refused, status = None, 200
        if request.method == "POST":
            form = {key: request.form.getlist(key) if key in (
                "needs.pathways", "needs.lived_experience", "needs.availability")
                else request.form.get(key) for key in request.form}
            try:
                referral = view.ops.call("create_referral", body=referral_body(request.form),
                                         idempotency_key=request.form.get("idempotency_key"))
            except Problem as problem:
                status = problem.status
                if problem.status == 422:
                    errors = problem.errors
                elif problem.code == "consent_required":
                    refused = problem
                elif problem.status == 409 and (request.form.get("external_id") or "").strip():
                    # The identifier names another of this referrer's referrals.
                    errors = {"external_id": [problem.body.get("detail", "")]}
                else:
                    return view.problem(problem)
            else:
                return view.redirect(f"/console/referrals/{referral['id']}")
        return view.render("referral_form.html", status=status,
                           form=form, errors=errors, v=VOCABULARY, refused=refused, consent=None,
                           idempotency_key=request.form.get("idempotency_key") or str(uuid.uuid4()))

    @page("POST", "/console/consents/<string:consent_id>/revoke")
    def console_revoke(self, request, consent_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        try:
            view.ops.call("revoke_consent", consent_id, body=_drop_empty(
                {"reason": request.form.get("reason") or "participant asked"}))
        except Problem as problem:
            if problem.status in (409, 422):
                return view.render("problem.html", status=problem.status, problem=problem)
            return view.problem(problem)
        back = request.form.get("referral_id")
        return view.redirect(f"/console/referrals/{back}" if back else "/console/referrals")

    # -- agency admin ---------------------------------------------------------------------

    @page("GET", "/console/audit")
    def console_audit(self, request):
        view, early = self._signed_in_page(request)
        if early:
            return early
        filters = {name: request.args.get(name, "").strip() for name in ("actor", "action", "since", "until")}
        query = {"actor": filters["actor"], "action": filters["action"],
                 "since": _instant(filters["since"]), "until": _instant(filters["until"])}
        errors: dict[str, list[str]] = {}
        rows: list[dict[str, Any]] = []
        try:
            rows = view.ops.call("get_ledger", query=query)["items"]
        except Problem as problem:
            if problem.status != 422:
                return view.problem(problem)
            errors = problem.errors
        return view.render("audit.html", status=422 if errors else 200, rows=rows, filters=filters,
                           errors=errors)

    @page("GET,POST", "/console/disclosures")
    def console_disclosures(self, request):
        """The accounting of disclosures of a participant whose consent the agency holds; the
        participant id is posted, never put in the URL."""
        view, early = self._signed_in_page(request)
        if early:
            return early
        search = {name: request.form.get(name, "").strip()
                  for name in ("participant_id", "since", "until", "page")}
        errors: dict[str, list[str]] = {}
        found, status, listing = False, 200, {"items": [], "next_page": None}
        if request.method == "POST" and search["participant_id"]:
            query = day_window(search["since"], search["until"]) | {"page": search["page"]}
            try:
                listing = view.ops.call("list_disclosures", search["participant_id"], query=query)
                found = True
            except Problem as problem:
                if problem.status == 422:
                    # The participant's id is the path's ``id`` to the API.
                    errors = {("participant_id" if key == "id" else key): value
                              for key, value in problem.errors.items()}
                    status = 422
                elif problem.status == 404:
                    status = 404  # not a participant whose consent this agency holds
                else:
                    return view.problem(problem)
        missing = request.method == "POST" and not search["participant_id"]
        return view.render("disclosures.html", status=422 if missing else status, search=search,
                           errors=errors, missing=missing, found=found, items=listing["items"],
                           next_page=listing["next_page"])

    def _admin_page(self, view: Page, template: str, status: int = 200, **context) -> Response:
        agency_id = view.me["agency_id"]
        try:
            listing = {
                "staff.html": lambda: view.ops.call("list_people", agency_id)["items"],
                "keys.html": lambda: view.ops.call("list_keys", agency_id)["items"],
            }[template]()
        except Problem as problem:
            return view.problem(problem)
        roles = OPERATOR_ROLES if view.has("operator") else ASSIGNABLE_ROLES
        return view.render(template, status=status, items=listing, roles=roles, **context)

    @page("GET,POST", "/console/staff")
    def console_staff(self, request):
        view, early = self._signed_in_page(request)
        if early:
            return early
        if request.method == "GET":
            return self._admin_page(view, "staff.html", form={}, errors={})
        form = {"name": request.form.get("name", ""), "email": request.form.get("email", ""),
                "roles": _form_list(request.form, "roles")}
        try:
            invited = view.ops.call("invite_person", view.me["agency_id"], body=form)
        except Problem as problem:
            if problem.status not in (409, 422):
                return view.problem(problem)
            errors = problem.errors or {"email": [problem.body.get("detail", "")]}
            return self._admin_page(view, "staff.html", status=problem.status, form=form, errors=errors)
        return self._admin_page(view, "staff.html", form={}, errors={}, invited=invited)

    @page("POST", "/console/staff/<string:person_id>")
    def console_update_person(self, request, person_id):
        view, early = self._signed_in_page(request)
        if early:
            return early
        body = {"roles": _form_list(request.form, "roles")} if request.form.get("change") == "roles" \
            else {"status": request.form.get("status", "")}
        try:
            view.ops.call("update_person", view.me["agency_id"], person_id, body=body)
        except Problem as problem:
            if problem.status not in (409, 422):
                return view.problem(problem)
            return self._admin_page(view, "staff.html", status=problem.status, form={}, errors={},
                                    refused=problem)
        return view.redirect("/console/staff")

    @page("GET,POST", "/console/keys")
    def console_keys(self, request):
        view, early = self._signed_in_page(request)
        if early:
            return early
        if request.method == "GET":
            return self._admin_page(view, "keys.html", form={}, errors={})
        form = _drop_empty({"name": request.form.get("name", ""), "roles": _form_list(request.form, "roles")})
        try:
            issued = view.ops.call("create_key", view.me["agency_id"], body=form)
        except Problem as problem:
            if problem.status not in (409, 422):
                return view.problem(problem)
            errors = problem.errors or {"name": [problem.body.get("detail", "")]}
            return self._admin_page(view, "keys.html", status=problem.status, form=form, errors=errors)
        return self._admin_page(view, "keys.html", form={}, errors={}, issued=issued)

    @page("POST", "/console/keys/<string:key_id>/<string:action>")
    def console_key_action(self, request, key_id, action):
        view, early = self._signed_in_page(request)
        if early:
            return early
        if action not in ("rotate", "revoke"):
            return view.not_found()
        try:
            if action == "rotate":
                issued = view.ops.call("rotate_key", view.me["agency_id"], key_id, body={})
            else:
                view.ops.call("revoke_key", view.me["agency_id"], key_id)
                issued = None
        except Problem as problem:
            if problem.status != 409:
                return view.problem(problem)
            return self._admin_page(view, "keys.html", status=409, form={}, errors={}, refused=problem)
        return self._admin_page(view, "keys.html", form={}, errors={}, issued=issued)

    @page("GET,POST", "/console/notifications")
    def console_notifications(self, request):
        view, early = self._signed_in_page(request)
        if early:
            return early
        errors: dict[str, list[str]] = {}
        saved = None
        form: dict[str, Any] = {}
        if request.method == "POST":
            form = {"webhook_url": request.form.get("webhook_url") or None,
                    "email": request.form.get("email") or None,
                    "phone": request.form.get("phone") or None,
                    "language": request.form.get("language") or "en",
                    "rotate_webhook_secret": bool(request.form.get("rotate_webhook_secret"))}
            try:
                saved = view.ops.call("put_notification_settings", body=form)
            except Problem as problem:
                if problem.status != 422:
                    return view.problem(problem)
                errors = problem.errors
        return self._notifications_page(view, status=422 if errors else 200, form=form,
                                        errors=errors, saved=saved)

    @page("POST", "/console/notifications/test")
    def console_test_webhook(self, request):
        """Send a signed test event to the agency's webhook (``POST /v1/notification-settings/test``)
        and show its delivery, highlighted in the log."""
        view, early = self._signed_in_page(request)
        if early:
            return early
        try:
            tested = view.ops.call("send_test_notification")
        except Problem as problem:
            if problem.status != 409:
                return view.problem(problem)
            return self._notifications_page(view, status=409, test_refused=problem)
        return self._notifications_page(view, tested=tested)

    def _notifications_page(self, view: Page, status: int = 200, form: dict[str, Any] | None = None,
                            errors: dict[str, list[str]] | None = None, saved=None, tested=None,
                            test_refused: Problem | None = None) -> Response:
        try:
            settings = saved or view.ops.call("get_notification_settings")
            deliveries = view.ops.call("list_notifications")["items"]
        except Problem as problem:
            return view.problem(problem)
        return view.render("notifications.html", status=status,
                           form=form if errors else (settings or {}), errors=errors or {}, saved=saved,
                           deliveries=deliveries, tested=tested, test_refused=test_refused)

    # -- outcome reports (funders, admins, the operator) ----------------------------------

    @page("GET", "/console/reports")
    def console_reports(self, request):
        view, early = self._signed_in_page(request)
        if early is None and not any(view.has(role) for role in REPORT_READERS):
            early = view.not_found()
        if early:
            return early
        filters = {name: request.args.get(name, "").strip() for name in ("from", "to", "by")}
        errors: dict[str, list[str]] = {}
        report = None
        try:
            report = view.ops.call("get_outcomes_report", query=filters)
        except Problem as problem:
            if problem.status != 422:
                return view.problem(problem)
            errors = problem.errors
        tables = [{**table, "chart": chart_of(table)} for table in (report or {}).get("tables", [])]
        return view.render("reports.html", status=422 if errors else 200, report=report, tables=tables,
                           filters=filters, errors=errors, breakdowns=REPORT_BREAKDOWNS)

    # -- network operator -----------------------------------------------------------------

    def _operator_page(self, request) -> tuple[Page, Response | None]:
        """A signed-in operator's page; anyone else sees the not-found page (the operations
        behind it would refuse them anyway)."""
        view, early = self._signed_in_page(request)
        if early is None and not view.has("operator"):
            early = view.not_found()
        return view, early

    @page("GET", "/console/readiness")
    def console_readiness(self, request):
        view, early = self._operator_page(request)
        if early:
            return early
        try:
            ready = view.ops.call("ready")
        except Problem as problem:
            return view.problem(problem)
        components = sorted(ready["services"].items()) + [("gateway", ready["gateway"])]
        healthy = all(state.get(part) == "ok" for _, state in components for part in state)
        return view.render("readiness.html", components=components, healthy=healthy)

    def _agencies_page(self, view: Page, status: int = 200, **context) -> Response:
        agencies: list[dict[str, Any]] = []
        page_token = None
        try:
            while True:
                listed = view.ops.call("list_agencies", query={"page": page_token})
                agencies += listed["items"]
                page_token = listed.get("next_page")
                if not page_token:
                    break
        except Problem as problem:
            return view.problem(problem)
        context.setdefault("form", {})
        context.setdefault("errors", {})
        return view.render("agencies.html", status=status, agencies=agencies, kinds=AGENCY_KINDS_SHOWN,
                           agency_roles=AGENCY_ROLES_SHOWN, idempotency_key=str(uuid.uuid4()), **context)

    @page("GET,POST", "/console/agencies")
    def console_agencies(self, request):
        view, early = self._operator_page(request)
        if early:
            return early
        if request.method == "GET":
            return self._agencies_page(view)
        form = {"name": request.form.get("name", "").strip(), "kind": request.form.get("kind", ""),
                "roles": _form_list(request.form, "roles")}
        try:
            created = view.ops.call("create_agency", body=form,
                                    idempotency_key=request.form.get("idempotency_key"))
        except Problem as problem:
            if problem.status not in (409, 422):
                return view.problem(problem)
            errors = problem.errors or {"name": [problem.body.get("detail", "")]}
            return self._agencies_page(view, status=problem.status, form=form, errors=errors)
        return self._agencies_page(view, created=created)

    @page("POST", "/console/agencies/<string:agency_id>/<string:action>")
    def console_agency_action(self, request, agency_id, action):
        view, early = self._operator_page(request)
        if early:
            return early
        if action not in ("deactivate", "reactivate"):
            return view.not_found()
        try:
            view.ops.call(f"{action}_agency", agency_id)
        except Problem as problem:
            if problem.status != 409:
                return view.problem(problem)
            return self._agencies_page(view, status=409, refused=problem)
        return view.redirect("/console/agencies")

    @page("GET,POST", "/console/verifications")
    def console_verifications(self, request):
        view, early = self._operator_page(request)
        if early:
            return early
        if request.method == "GET":
            return view.render("verification.html", job=None)
        try:
            job = view.ops.call("start_verification")
        except Problem as problem:
            return view.problem(problem)
        return view.redirect(f"/console/verifications/{job['id']}")

    @page("GET", "/console/verifications/<string:verification_id>")
    def console_verification(self, request, verification_id):
        view, early = self._operator_page(request)
        if early:
            return early
        try:
            job = view.ops.call("get_verification", verification_id)
        except Problem as problem:
            return view.problem(problem)
        return view.render("verification.html", job=job)

    def _dead_letters_page(self, view: Page, status: int = 200, **context) -> Response:
        try:
            letters = view.ops.call("list_dead_letters")
        except Problem as problem:
            return view.problem(problem)
        return view.render("dead_letters.html", status=status, letters=letters["items"],
                           total=letters["total"], **context)

    @page("GET", "/console/dead-letters")
    def console_dead_letters(self, request):
        view, early = self._operator_page(request)
        if early:
            return early
        return self._dead_letters_page(view)

    @page("POST", "/console/dead-letters/<string:event_id>/replay")
    def console_replay(self, request, event_id):
        view, early = self._operator_page(request)
        if early:
            return early
        try:
            replayed = view.ops.call("replay_dead_letter", event_id)
        except Problem as problem:
            if problem.status != 409:
                return view.problem(problem)
            return self._dead_letters_page(view, status=409, refused=problem)
        return self._dead_letters_page(view, replayed=replayed["replayed"])
