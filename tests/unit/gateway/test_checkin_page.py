"""A check-in email's pages: the one-question form and the stop page, in the participant's
language and direction, escaping what they show, behind the questionnaire page's headers."""

from __future__ import annotations

from gateway import checkin_page

FORM = {"language": "ar", "direction": "rtl", "title": "متابعتك", "question": "كيف حالك <هذا> الأسبوع؟",
        "low": "أواجه صعوبة", "high": "بخير", "word": "كلمة", "submit": "إرسال"}


def test_the_form_asks_one_question_from_one_to_five_with_an_optional_word():
    page = checkin_page.form_page(FORM, "tok&en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in html
    assert [f'name="score" value="{n}"' in html for n in range(1, 6)] == [True] * 5
    assert 'name="word"' in html and "&lt;هذا&gt;" in html
    assert 'name="t" value="tok&amp;en"' in html
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    again = checkin_page.form_page(FORM, "token", {"score": ["Choose 1 to 5."]})
    assert again.status_code == 422 and 'aria-invalid="true"' in again.get_data(as_text=True)


def test_the_stop_page_posts_the_one_click_stop_to_its_own_link():
    page = checkin_page.stop_page({"language": "es", "direction": "ltr", "title": "Detener",
                                   "question": "¿Seguro?", "submit": "Detener los mensajes"}, "a b/c")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'action="/v1/check-in/stop?t=a%20b/c"' in html
    assert 'name="List-Unsubscribe" value="One-Click"' in html
