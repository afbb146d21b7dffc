"""The site icon: every page links static/favicon.ico, and /favicon.ico (where browsers ask by habit,
e.g. for a download or a print preview) answers it too, not a 404 on every page."""

import io
import re

from PIL import Image

from tests.factories import make_two_villages


def _icon_href(html: str) -> str:
    match = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert match, "the page links no icon"
    return match.group(1)


def test_favicon_ico_answers_an_icon_to_anyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    icon = Image.open(io.BytesIO(response.data))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32)} <= set(icon.info["sizes"])


def test_staff_and_paper_pages_link_the_icon(app, client, login):
    login_page = client.get("/login").get_data(as_text=True)
    href = _icon_href(login_page)
    assert client.get(href).status_code == 200
    with app.app_context():
        make_two_villages()
    staff = login("a-supervisor")
    assert _icon_href(staff.get("/").get_data(as_text=True)) == href
    assert _icon_href(staff.get("/walls/print").get_data(as_text=True)) == href  # a paper page
