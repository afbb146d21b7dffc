"""Checkpoints (services/checkpoints.py): publishing a notice seals the village's tree in the C2SP checkpoint
format; the bundle of a notice verifies with the standalone verifier, lists every ledger line of the notice
with its proof and the consistency proof from the previous notice; a past entry rewritten in the database,
with or without its tree, makes the proofs fail."""

import base64
import hashlib
from pathlib import Path

from sqlalchemy import select

from lovemart import notekey, verify_notice
from lovemart.db import unit_of_work
from lovemart.models import AuditEvent, LedgerEntry, Village
from lovemart.services import checkpoints, ledger_tree, merkle, notices
from lovemart.services.audit import AuditTag
from tests.services.test_merkle import reference_root
from tests.tamper import tamper
from tests.transparency import publish_months, rewrite_entry


def bundle_of(notice):
    with unit_of_work() as s:
        fresh = s.get(type(notice), notice.id)
        return checkpoints.bundle(s, fresh, notices.document(fresh))


def test_publishing_seals_the_tree_as_a_tlog_checkpoint(session, monkeypatch):
    world = publish_months(monkeypatch)
    first, second = (checkpoints.of_notice(session, n) for n in world.notices)
    village = session.get(Village, world.village)
    key = notekey.notice_key()
    assert first.origin == f"lovemart/{village.county.code}/{village.code}"
    for checkpoint, notice in ((first, world.notices[0]), (second, world.notices[1])):
        assert checkpoint.size == notice.chain_seq
        leaves = session.scalars(
            select(LedgerEntry).where(LedgerEntry.seq <= checkpoint.size).order_by(LedgerEntry.seq)
        ).all()
        assert checkpoint.root == reference_root([ledger_tree.leaf_content(e).encode() for e in leaves])
        body = f"{checkpoint.origin}\n{checkpoint.size}\n{base64.b64encode(checkpoint.root).decode()}\n"
        assert checkpoint.note.startswith(body + "\n— lovemart-notices ")
        assert verify_notice.signature_problems(checkpoint.note, key.vkey) == []
        assert verify_notice.parse_checkpoint(checkpoint.note) == (
            checkpoint.origin,
            checkpoint.size,
            checkpoint.root,
        )
    assert (first.size, second.size) == (2 + 4, 2 + 8)  # two base entries, then four awards a month
    published = session.scalars(select(AuditEvent).where(AuditEvent.tag == AuditTag.NOTICE_PUBLISH)).all()
    assert published[-1].data["tree_root"] == checkpoints.fingerprint(second.root)


def test_the_fingerprint_is_four_groups_of_four_of_the_root():
    root = bytes.fromhex("5dc9da79a70659a9" + "00" * 24)
    assert checkpoints.fingerprint(root) == "5DC9 DA79 A706 59A9"


def test_a_proof_table_sends_each_hash_once_and_names_it_after():
    a, b, c, d = (hashlib.sha256(bytes([n])).digest() for n in range(4))
    table = checkpoints.ProofTable()
    first = table.write([a, b, c])
    assert first == base64.b64encode(a + b + c).decode().rstrip("=") and len(first) == 128
    assert table.write([d, b, a]) == f"{base64.b64encode(d).decode().rstrip('=')} 1 0"  # d is number 3
    assert table.write([c, d]) == "2 3"
    assert checkpoints.ProofTable().write([d]) == base64.b64encode(d).decode()[:43]  # a table per page


def test_a_notice_bundle_lists_its_lines_with_proofs_and_verifies(session, monkeypatch):
    world = publish_months(monkeypatch)
    first, second = bundle_of(world.notices[0]), bundle_of(world.notices[1])
    assert first["previous"] is None
    assert second["previous"]["checkpoint"] == checkpoints.of_notice(session, world.notices[0]).note
    assert [line["seq"] for line in second["lines"]] == [7, 8, 9, 10]
    assert {line["household"] for line in second["lines"]} == {"0100", "0101"}
    assert verify_notice.check(first) == [] and verify_notice.check(second) == []
    checkpoint = checkpoints.of_notice(session, world.notices[1])
    for line in second["lines"]:
        proof = [base64.b64decode(p) for p in line["proof"]]
        leaf = merkle.leaf_hash(line["leaf"].encode())
        assert merkle.verify_inclusion(line["seq"] - 1, checkpoint.size, leaf, proof, checkpoint.root)


def test_an_entry_rewritten_in_the_database_fails_its_line(session, monkeypatch):
    world = publish_months(monkeypatch)
    rewrite_entry(world.village, 8, note="改过的说明", rebuild_tree=False)
    problems = verify_notice.check(bundle_of(world.notices[1]))
    assert len(problems) == 1 and problems[0].startswith("line #8 is not in the tree")
    assert verify_notice.check(bundle_of(world.notices[0])) == []  # entry 8 came after the first notice


def test_a_rewritten_past_with_its_tree_rebuilt_fails_every_later_proof(session, monkeypatch):
    world = publish_months(monkeypatch)
    rewrite_entry(world.village, 4, note="改过的说明", rebuild_tree=True)
    first, second = bundle_of(world.notices[0]), bundle_of(world.notices[1])
    # the books are self-consistent again, but no longer those the notices published
    assert len(verify_notice.check(first)) == len(first["lines"])
    problems = verify_notice.check(second)
    assert len(problems) == len(second["lines"]) + 1
    assert problems[-1].endswith("the past was rewritten")


def test_a_notice_published_before_checkpoints_has_no_bundle(session, monkeypatch):
    world = publish_months(monkeypatch, months=1)
    assert bundle_of(world.notices[0]) is not None
    tamper("DELETE FROM witness_observations", "witness_observations")  # they name the checkpoint
    tamper("DELETE FROM checkpoints", "checkpoints")
    assert bundle_of(world.notices[0]) is None


def test_the_notice_key_is_created_once_with_mode_0600_and_signs_every_checkpoint(app, session, monkeypatch):
    world = publish_months(monkeypatch)
    path = Path(app.instance_path) / notekey.NOTICE_KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    key = notekey.notice_key()
    assert notekey.notice_key().public_raw == key.public_raw  # read back, not made again
    name, key_id, public = verify_notice.parse_vkey(key.vkey)
    assert (name, key_id, public) == ("lovemart-notices", key.key_id, key.public_raw)
    assert key_id == hashlib.sha256(b"lovemart-notices\n\x01" + public).digest()[:4]
    bundle = bundle_of(world.notices[1])
    assert bundle["key"] == key.vkey and verify_notice.check(bundle) == []
    assert bundle["witness"]["key"] == notekey.witness_key().vkey
    assert bundle["witness"]["checkpoint"].startswith(bundle["checkpoint"])
    other = notekey.load_or_create(Path(app.instance_path) / "other.pem", "lovemart-notices")
    assert verify_notice.check({**bundle, "key": other.vkey})[0].startswith(
        "the checkpoint carries no signature"
    )
    forged = bundle["checkpoint"].replace("\n10\n", "\n11\n")
    assert "does not match" in " ".join(verify_notice.signature_problems(forged, key.vkey))
