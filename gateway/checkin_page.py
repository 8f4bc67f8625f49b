"""A check-in email's pages: the one-question form (1-5 and an optional word) and the stop link's
page. No sign-in, nothing about the person shown, the same headers as the questionnaire's form.

The link's token travels in the query string, which the gateway's access log never writes, and
back in a hidden field (the form) or the query string (the stop, as RFC 8058's one-click POST).
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from gateway.assessment_page import _page


def form_page(form: dict[str, Any], token: str, errors: dict[str, Any] | None = None) -> Response:
    invalid = ' aria-invalid="true"' if errors else ""
    parts = [f"<h1>{escape(form['title'])}</h1>",
             '<form method="post" action="/v1/check-in">',
             f'<input type="hidden" name="t" value="{escape(token)}">',
             f"<fieldset{invalid}><legend>{escape(form['question'])}</legend>"]
    for value in range(1, 6):
        hint = {1: form.get("low"), 5: form.get("high")}.get(value)
        label = f"{value} · {escape(hint)}" if hint else str(value)
        parts.append(f'<label><input type="radio" name="score" value="{value}"> {label}</label>')
    parts.append("</fieldset>")
    parts.append(f'<label for="word">{escape(form.get("word") or "")}</label>'
                 '<input id="word" name="word" maxlength="500" autocomplete="off">')
    parts.append(f'<p><button type="submit">{escape(form["submit"])}</button></p></form>')
    return _page(form["language"], form["direction"], form["title"], "".join(parts),
                 status=422 if errors else 200)


def stop_page(page: dict[str, Any], token: str) -> Response:
    body = (f"<h1>{escape(page['title'])}</h1><p>{escape(page['question'])}</p>"
            f'<form method="post" action="/v1/check-in/stop?t={escape(quote(token))}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit">{escape(page["submit"])}</button></form>')
    return _page(page["language"], page["direction"], page["title"], body)
