"""The BARC-10 questionnaire as a small HTML form: no sign-in, nothing about the person shown.

The link's token travels in the query string (``/v1/assessment?t=...``), which the gateway's
access log never writes, and back in a hidden field of the form's POST.
"""

from __future__ import annotations

from html import escape
from typing import Any

from werkzeug.wrappers import Response

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem;"
          "line-height:1.4}fieldset{border:0;margin:0 0 1rem;padding:0}legend{font-weight:600;"
          "margin-bottom:.3rem}label{display:block;margin:.15rem 0}"
          "button{font-size:1.1rem;padding:.5rem 1.5rem}")
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            "X-Frame-Options": "DENY"}


def _page(language: str, direction: str, title: str, body: str, status: int = 200) -> Response:
    html = (f'<!doctype html><html lang="{escape(language)}" dir="{escape(direction)}"><head>'
            f'<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="robots" content="noindex"><title>{escape(title)}</title><style>{_STYLE}</style>'
            f"</head><body>{body}</body></html>")
    return Response(html, status=status, mimetype="text/html", headers=_HEADERS)


def form_page(form: dict[str, Any], token: str, errors: dict[str, Any] | None = None) -> Response:
    """The questionnaire: ten statements and the belonging question, each on the six-point scale."""
    questions = [(f"item{n}", text) for n, text in enumerate(form["items"], start=1)]
    questions.append(("belonging", form["belonging"]))
    parts = [f"<h1>{escape(form['title'])}</h1><p>{escape(form['intro'])}</p>",
             '<form method="post" action="/v1/assessment">',
             f'<input type="hidden" name="t" value="{escape(token)}">']
    for name, text in questions:
        missing = ' aria-invalid="true"' if errors and name in errors else ""
        parts.append(f"<fieldset{missing}><legend>{escape(text)}</legend>")
        for value, label in enumerate(form["scale"], start=1):
            parts.append(f'<label><input type="radio" name="{name}" value="{value}" required> '
                         f"{value} · {escape(label)}</label>")
        parts.append("</fieldset>")
    parts.append(f'<button type="submit">{escape(form["submit"])}</button></form>')
    return _page(form["language"], form["direction"], form["title"], "".join(parts),
                 status=422 if errors else 200)


def done_page(done: dict[str, Any]) -> Response:
    return _page(done["language"], done["direction"], done["done"], f"<p>{escape(done['done'])}</p>")


def gone_page(text: str) -> Response:
    """A link that opens nothing (unknown, used, expired): said in English, the one page that
    cannot know the person's language."""
    return _page("en", "ltr", text, f"<p>{escape(text)}</p>", status=404)
