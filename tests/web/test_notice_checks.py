"""The household's check of each notice on its own page (/me): every line of the household in every notice
of the last year, with the leaf text the phone hashes and its inclusion proof in the notice's tree, next to
the fingerprint of the paper notice; the page loads the project's one checking script and stays small (a
year of a busy household in a busy village, measured gzipped)."""

import base64
import gzip
import html
import json
import re

import pytest

from lovemart import notekey
from lovemart.services import merkle
from tests.transparency import publish_months, rewrite_entry
from tests.villager import page

LINE = re.compile(r'<li data-leaf="([^"]*)" data-proof="([^"]*)">')
NOTICE = re.compile(r'<div class="notice-check" data-root="([^"]+)" data-size="(\d+)">')


def proofs(body: str) -> list[list[bytes]]:
    """Every line's proof, read as the phone reads them (checkpoints.ProofTable): in page order, a base64
    run of hashes new to the page, or the number of a hash sent before."""
    sent, read = [], []
    for _, proof in LINE.findall(body):
        hashes = []
        for token in proof.split():
            if token.isdigit():
                hashes.append(sent[int(token)])
                continue
            run = base64.b64decode(token + "=" * (-len(token) % 4))
            assert len(run) % 32 == 0
            new = [run[at : at + 32] for at in range(0, len(run), 32)]
            sent += new
            hashes += new
        read.append(hashes)
    return read


def checked(body: str) -> list[list[bool]]:
    """What the phone's script computes, per notice and line (the same RFC 9162 steps, in Python)."""
    lines = iter(proofs(body))
    results = []
    for part in body.split('<div class="notice-check"')[1:]:
        root, size = NOTICE.search('<div class="notice-check"' + part).groups()
        results.append([])
        for leaf, _ in LINE.findall(part):
            text = html.unescape(leaf)
            seq = json.loads(text)["seq"]
            results[-1].append(
                merkle.verify_inclusion(
                    seq - 1, int(size), merkle.leaf_hash(text.encode()), next(lines), base64.b64decode(root)
                )
            )
    return results


def test_me_lists_the_households_lines_of_each_notice_with_proofs(app, client, monkeypatch):
    with app.app_context():
        world = publish_months(monkeypatch, months=3, households=2, awards=2)
    response = page(client, world.tokens[0])
    body = response.get_data(as_text=True)
    assert "公示核对" in body and body.count('class="notice-check"') == 3
    assert checked(body) == [[True, True]] * 3  # newest first, two awards a month each
    assert '<script src="/static/js/notice-check.js" defer></script>' in body
    assert re.findall(r"<script(?![^>]*\bsrc=)", body) == [] and 'style="' not in body
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "与公示栏上的校验码一致" in body  # shown by the script once every line leads to the root
    assert client.get("/static/js/notice-check.js").status_code == 200
    with app.app_context():
        assert f"公示签名密钥 ID：{notekey.notice_key().key_id.hex()}" in body


def test_a_rewritten_entry_no_longer_leads_to_the_published_root(app, client, monkeypatch):
    with app.app_context():
        world = publish_months(monkeypatch, months=2, households=2, awards=1)
        rewrite_entry(
            world.village, 5, note="改过的说明", rebuild_tree=False
        )  # household 0's line of month 2
    assert checked(page(client, world.tokens[0]).get_data(as_text=True)) == [[False], [True]]


def test_a_household_without_notices_gets_no_script(app, client, monkeypatch):
    with app.app_context():
        world = publish_months(monkeypatch, months=0, households=1)
    body = page(client, world.tokens[0]).get_data(as_text=True)
    assert "公示核对" not in body and "notice-check.js" not in body


def test_a_year_of_proofs_stays_under_15_kb_gzipped(app, client, monkeypatch):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the page's size does not depend on the database")
    # 啊道村's shape: 154 households, two lines a month each, 12 monthly notices: a ledger of 3,850 entries
    # (proofs 11–12 hashes deep), 24 lines of the household in the year.
    with app.app_context():
        world = publish_months(monkeypatch, months=12, households=154, awards=2)
    body = page(client, world.tokens[0]).get_data()
    size = len(gzip.compress(body, compresslevel=6))
    results = checked(body.decode())
    assert all(all(lines) for lines in results) and sum(len(lines) for lines in results) == 24
    print(f"\n/me with a year of proofs: {len(body)} bytes, {size} bytes gzipped")
    assert size <= 15 * 1024


def test_a_busy_households_year_of_proofs_stays_under_15_kb_gzipped(app, client, monkeypatch):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the page's size does not depend on the database")
    # The demo's busiest household: four lines a month among 40 households, 12 notices, 48 lines in a ledger
    # of 2,000 entries. With every proof spelled out (a repeated hash left to gzip) and a data-seq per line
    # the page measured 15.1 KB gzipped (15,492 bytes); each hash sent once (checkpoints.ProofTable), 14.5 KB.
    # The hashes themselves do not compress (~34 bytes each, ~7 distinct per line).
    with app.app_context():
        world = publish_months(monkeypatch, months=12, households=40, awards=4)
    body = page(client, world.tokens[0]).get_data()
    size = len(gzip.compress(body, compresslevel=6))
    results = checked(body.decode())
    assert all(all(lines) for lines in results) and [len(lines) for lines in results] == [4] * 12
    sent = [hash for proof in proofs(body.decode()) for hash in proof]
    assert body.decode().count("data-proof=") == 48 and len(set(sent)) < len(sent)  # shared nodes sent once
    print(f"\n/me with a busy year of proofs: {len(body)} bytes, {size} bytes gzipped")
    assert size <= 15 * 1024


def test_the_statement_count_does_not_grow_with_the_notices(app, client, monkeypatch, query_counter):
    with app.app_context():
        one = publish_months(monkeypatch, months=1, households=2, awards=1, code="a")
        three = publish_months(monkeypatch, months=3, households=2, awards=3, code="b")
    counts = []
    for world in (one, three):
        page(client, world.tokens[0])
        with query_counter() as statements:
            assert client.get("/me").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 10
