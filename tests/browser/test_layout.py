"""Wide pages laid out for real, in Chinese and in English, on a 360 px phone and a 1366 px counter PC: the
county page (its table scrolls in its own box, the page never does; names are not squeezed to a character a
line; every chart label is inside its chart) and the wall printed for the notice board (A4)."""

import pytest

from tests.browser.conftest import PHONE

SIZES = ("phone_page", "page")
LANGUAGES = ("zh", "en")
#: The printable width of A4 portrait with 15 mm margins (static/css/page-a4.css), in CSS pixels.
A4_PRINTABLE = round(180 / 25.4 * 96)


def overflow(page) -> int:
    """How many CSS pixels the page is wider than its window (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def squeezed(page, selector: str, characters: float = 2) -> list[str]:
    """The cells matching `selector` narrower than `characters` characters of their own font."""
    return page.evaluate(
        """([selector, characters]) => [...document.querySelectorAll(selector)]
            .filter(cell => cell.getBoundingClientRect().width
                < characters * parseFloat(getComputedStyle(cell).fontSize) - 1)
            .map(cell => `${cell.textContent.trim()}: ${cell.getBoundingClientRect().width.toFixed(1)}`)""",
        [selector, characters],
    )


def labels_outside_their_chart(page) -> list[str]:
    """Each chart label (SVG text) not wholly inside its chart's box."""
    return page.evaluate(
        """() => [...document.querySelectorAll("svg.chart")].flatMap(svg => {
            const box = svg.getBoundingClientRect();
            return [...svg.querySelectorAll("text")].filter(text => {
                const r = text.getBoundingClientRect();
                return r.left < box.left - .5 || r.right > box.right + .5
                    || r.top < box.top - .5 || r.bottom > box.bottom + .5;
            }).map(text => `${text.textContent}: ${Math.round(r(text).left)}..${Math.round(r(text).right)}`
                + ` outside ${Math.round(box.left)}..${Math.round(box.right)}`);
            function r(el) { return el.getBoundingClientRect(); }
        })"""
    )


def choose(page, language: str) -> None:
    """The language switch of the footer, as a person uses it (kept in the session)."""
    page.goto(f"/lang/{'en' if language == 'en' else 'zh_Hans_CN'}?next=/")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_the_county_page_fits_its_screen_in_both_languages(request, sign_in, size, language):
    page = request.getfixturevalue(size)
    sign_in(page, "county")
    # A two-year period: the monthly chart labels every few months, the first and last at its edges.
    choose(page, language)
    for path in ("/county/", "/county/?first=2025-01&last=2026-12"):
        assert page.goto(path).status == 200
        assert page.locator("table.county tbody tr").count() >= 2
        assert overflow(page) <= 0, f"{path} scrolls sideways by {overflow(page)} px"
        assert squeezed(page, "table.county .village") == []
        assert squeezed(page, "table.county tbody td:nth-child(3)") == []  # the township
        assert labels_outside_their_chart(page) == []
        # The table scrolls in its own box when it is wider than the screen.
        box = page.locator(".table-wrap").bounding_box()
        assert box["width"] <= page.viewport_size["width"]
    headers = page.locator("table.county thead").inner_text()
    if language == "en":
        assert "Points redeemed" in headers and "Points price" not in headers
    else:
        assert "已兑换积分" in headers


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_wall_prints_on_a4_with_columns_that_fit(browser, live_server, sign_in, language):
    context = browser.new_context(
        base_url=live_server, locale="zh-CN", viewport={"width": A4_PRINTABLE, "height": 1000}
    )
    try:
        page = context.new_page()
        sign_in(page, "supervisor")
        choose(page, language)
        assert page.goto("/walls/print").status == 200
        page.emulate_media(media="print")
        assert page.locator("table tbody tr").count() >= 2
        assert overflow(page) <= 0
        assert squeezed(page, "table td:first-child", 2) == []  # the household
        assert squeezed(page, "table td:nth-child(2)", 6) == []  # the wish
        assert squeezed(page, "table th", 2) == []
        assert page.locator('link[href$="css/page-a4.css"]').count() == 1  # @page: A4 portrait
    finally:
        context.close()


def test_the_wall_preview_fits_a_phone(phone_page, sign_in):
    sign_in(phone_page, "supervisor")
    phone_page.goto("/walls/print")
    assert phone_page.viewport_size == PHONE
    assert overflow(phone_page) <= 0
    assert phone_page.locator("table tbody tr").count() >= 2
    assert squeezed(phone_page, "table td:first-child", 2) == []
    assert squeezed(phone_page, "table td", 1.5) == []
