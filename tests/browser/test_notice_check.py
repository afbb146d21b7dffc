"""In a real browser on a 360 px phone: a villager opens /me and sees each of the household's lines of last
month's notice (and of the months before) checked by the page's own script with the browser's SHA-256,
"与公示栏上的校验码一致" next to the fingerprint printed on the paper notice; a line rewritten in the database
fails, and a page opened over plain http on another host explains why it cannot check."""

import re
from urllib.parse import urlsplit

import pytest

from lovemart.db import db
from lovemart.services import checkpoints
from tests.transparency import publish_months, rewrite_entry

pytestmark = pytest.mark.browser


def published(live_app, code: str):
    with live_app.app_context(), pytest.MonkeyPatch.context() as monkeypatch:
        world = publish_months(monkeypatch, months=3, households=3, awards=2, code=code)
        fingerprints = [
            checkpoints.fingerprint(checkpoints.of_notice(db.session, n).root) for n in world.notices
        ]
        db.session.remove()
    return world, fingerprints[::-1]  # the page lists the newest first


def open_me(page, token: str) -> None:
    page.goto(f"/c/{token}")
    page.wait_for_selector("#notice-checks[data-checked]", state="attached")


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_the_phone_checks_every_line_against_the_papers_fingerprint(phone_page, live_app, requests_seen):
    world, fingerprints = published(live_app, "t")
    open_me(phone_page, world.tokens[0])
    section = phone_page.locator("#notice-checks")
    assert section.get_attribute("data-checked") == "done"
    notices = section.locator(".notice-check")
    assert notices.count() == 3
    for n, fingerprint in enumerate(fingerprints):
        notice = notices.nth(n)
        assert notice.get_attribute("data-checked") == "ok"
        assert notice.locator(".fingerprint").inner_text() == fingerprint
        ok = notice.locator(".check-ok")
        assert ok.is_visible() and ok.inner_text() == "✓ 与公示栏上的校验码一致"
        assert not notice.locator(".check-bad").is_visible()
        lines = notice.locator("li[data-leaf]")
        assert lines.count() == 2
        assert all("ok" in lines.nth(i).get_attribute("class") for i in range(2))
    assert not section.locator(".check-insecure").is_visible()
    assert _fits_the_screen(phone_page)
    assert requests_seen.off_host() == []
    paths = [urlsplit(seen).path for seen in requests_seen]
    assert paths == [f"/c/{world.tokens[0]}", "/me", "/static/css/public.css", "/static/js/notice-check.js"]


def test_a_line_rewritten_in_the_database_fails_on_the_phone(phone_page, live_app):
    world, _ = published(live_app, "u")
    with live_app.app_context():
        # household 0's first line of the second month: entries 1-3 base, 4-9 the first month
        rewrite_entry(world.village, 10, note="改过的说明", rebuild_tree=False)
        db.session.remove()
    open_me(phone_page, world.tokens[0])
    notices = phone_page.locator("#notice-checks .notice-check")
    assert [notices.nth(n).get_attribute("data-checked") for n in range(3)] == ["ok", "bad", "ok"]
    bad = notices.nth(1)
    assert bad.locator(".check-bad").is_visible() and not bad.locator(".check-ok").is_visible()
    assert "与公示栏上的校验码不一致" in bad.locator(".check-bad").inner_text()
    lines = bad.locator("li[data-leaf]")
    assert "bad" in lines.nth(0).get_attribute("class") and "与公示不符" in lines.nth(0).inner_text()
    assert "ok" in lines.nth(1).get_attribute("class")
    assert _fits_the_screen(phone_page)


def test_a_line_whose_proof_names_another_hash_fails_alone(phone_page, live_app):
    """Each hash is sent once and named by its number after (checkpoints.ProofTable): a proof naming the
    wrong one fails its own line, and only that line, though other lines name the same hashes."""
    world, _ = published(live_app, "v")
    changed = {}

    def wrong_number(route):
        response = route.fetch()
        body = response.text()
        proofs = re.findall(r'data-proof="([^"]*)"', body)
        line = next(n for n, proof in enumerate(proofs) if any(t.isdigit() for t in proof.split()))
        tokens = proofs[line].split()
        at = next(n for n, t in enumerate(tokens) if t.isdigit())
        tokens[at] = "1" if tokens[at] == "0" else "0"
        body = body.replace(f'data-proof="{proofs[line]}"', f'data-proof="{" ".join(tokens)}"', 1)
        changed["line"] = line
        route.fulfill(response=response, body=body)

    open_me(phone_page, world.tokens[0])  # the card's cookie; a redirect's target is not routed
    phone_page.route("**/me", wrong_number)
    phone_page.goto("/me")
    phone_page.wait_for_selector('#notice-checks[data-checked="done"]', state="attached")
    lines = phone_page.locator("#notice-checks li[data-leaf]")
    verdicts = [lines.nth(n).get_attribute("class") for n in range(lines.count())]
    assert lines.count() == 6 and changed["line"] > 0  # a line after the first names earlier hashes
    assert verdicts == ["bad" if n == changed["line"] else "ok" for n in range(6)]
    notices = phone_page.locator("#notice-checks .notice-check")
    assert [notices.nth(n).get_attribute("data-checked") for n in range(3)].count("bad") == 1


def test_without_a_secure_context_the_page_says_why_it_cannot_check(phone_page, live_app):
    world, fingerprints = published(live_app, "w")
    # what a phone gets on plain http from another host: no crypto.subtle, not a secure context
    phone_page.add_init_script("Object.defineProperty(window, 'isSecureContext', {value: false})")
    open_me(phone_page, world.tokens[0])
    section = phone_page.locator("#notice-checks")
    assert section.get_attribute("data-checked") == "insecure"
    assert section.locator(".check-insecure").is_visible()
    assert "https" in section.locator(".check-insecure").inner_text()
    assert not section.locator(".check-ok").first.is_visible()
    assert section.locator(".fingerprint").first.inner_text() == fingerprints[0]  # still there to compare
