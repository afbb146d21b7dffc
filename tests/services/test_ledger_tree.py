"""The village ledger as a Merkle tree (services/ledger_tree.py): every writer appends its leaf in the entry's
transaction, an append stores O(log n) nodes and reads none, proofs for past sizes verify against the root
of the time, and `verify` names an entry or a node changed behind the application's back."""

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from lovemart.db import unit_of_work
from lovemart.models import LedgerBook, LedgerEntry, TreeNode
from lovemart.services import cards, ledger_tree, merkle, points, redemptions
from lovemart.services.redemptions import CartLine
from tests.points_helpers import carded_household, make_rule, points_village
from tests.services.test_merkle import reference_root
from tests.shop_helpers import make_product
from tests.tamper import tamper


def leaves(session, village_id, size=None):
    stmt = select(LedgerEntry).where(LedgerEntry.village_id == village_id).order_by(LedgerEntry.seq)
    entries = session.scalars(stmt).all()[:size]
    return [ledger_tree.leaf_content(e).encode() for e in entries]


def award(village_id, household_id, rule_id):
    with unit_of_work() as s:
        return points.award(s, actor=None, village_id=village_id, household_id=household_id, rule_id=rule_id)


def books(village_count=1):
    """Villages with a few households' base points, awards and a redemption (the counter's Core path)."""
    made = []
    for n in range(village_count):
        village_id = points_village(f"v{n}")
        rule_id = make_rule(village_id, "义务劳动", "volunteer", 10)
        rice = make_product(village_id, "大米", 30, stock=20)
        households = [carded_household(village_id)[0] for _ in range(3)]
        for household_id in households * 2:
            award(village_id, household_id, rule_id)
        with unit_of_work() as s:
            number = cards.active_card(s, village_id=village_id, household_id=households[0]).number
            redemptions.redeem(
                s,
                actor=None,
                village_id=village_id,
                card_number=number,
                lines=[CartLine(rice, 1)],
                idempotency_key=uuid.uuid4().hex,
            )
        made.append(village_id)
    return made


def test_every_writer_appends_its_leaf_and_the_root_is_the_rfc_root(session):
    first, second = books(2)
    for village_id in (first, second):
        book = session.get(LedgerBook, village_id)
        data = leaves(session, village_id)
        assert book.entry_count == len(data) == 10  # 3 base, 6 awards, 1 redemption
        assert merkle.edge_root(merkle.unpack(book.tree_edge)) == reference_root(data)
        assert ledger_tree.root_at(session, village_id, book.entry_count) == reference_root(data)
    assert points.verify(session) == []


def test_proofs_for_every_past_size_verify_against_the_root_of_that_time(session):
    (village_id,) = books()
    size = session.get(LedgerBook, village_id).entry_count
    data = leaves(session, village_id)
    for past in range(1, size + 1):
        root = reference_root(data[:past])
        assert ledger_tree.root_at(session, village_id, past) == root
        proofs = ledger_tree.inclusion_proofs(session, village_id, past, range(1, past + 1))
        for seq, proof in proofs.items():
            assert merkle.verify_inclusion(seq - 1, past, merkle.leaf_hash(data[seq - 1]), proof, root)
        consistency = ledger_tree.consistency_proof(session, village_id, past, size)
        assert merkle.verify_consistency(past, size, root, reference_root(data), consistency)


def test_an_append_stores_only_the_subtrees_it_completes(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)  # entry 1: base points
    rule_id = make_rule(village_id, "义务劳动", "volunteer", 1)
    written = []
    for _ in range(15):
        before = session.scalar(select(func.count()).select_from(TreeNode))
        award(village_id, household_id, rule_id)
        session.rollback()
        written.append(session.scalar(select(func.count()).select_from(TreeNode)) - before)
    # leaf n completes one node per trailing one of n: entries 2..16 are leaves 1..15
    assert written == [1 + (n ^ (n + 1)).bit_length() - 1 for n in range(1, 16)]
    book = session.get(LedgerBook, village_id)
    assert len(merkle.unpack(book.tree_edge)) == (16).bit_count() == 1


def test_verify_names_an_entry_rewritten_in_the_database(session):
    (village_id,) = books()
    target = session.scalar(select(LedgerEntry.id).where(LedgerEntry.seq == 5))
    tamper("UPDATE ledger_entries SET note = '改过' WHERE id = :id", "ledger_entries", id=target)
    problems = ledger_tree.verify(session, session.get(LedgerBook, village_id))
    assert [(p.entry_id, p.what) for p in problems] == [(target, "tree leaf 4 is not the hash of entry #5")]
    assert any(p.entry_id == target for p in points.verify(session))


def test_verify_names_a_node_rewritten_or_removed(session):
    (village_id,) = books()
    book = session.get(LedgerBook, village_id)
    tamper(
        "UPDATE tree_nodes SET hash = :h WHERE village_id = :v AND level = 2 AND idx = 1",
        "tree_nodes",
        h=b"\x00" * 32,
        v=village_id,
    )
    assert [p.what for p in ledger_tree.verify(session, book)] == [
        "tree node (2, 1) is not the hash of its children"
    ]
    tamper(
        "DELETE FROM tree_nodes WHERE village_id = :v AND level = 2 AND idx = 1", "tree_nodes", v=village_id
    )
    assert [p.what for p in ledger_tree.verify(session, book)] == [
        "the tree has 1 nodes at level 2 instead of 2"
    ]


def test_verify_names_a_book_whose_edge_was_changed(session):
    (village_id,) = books()
    with unit_of_work() as s:
        s.get(LedgerBook, village_id).tree_edge = b"\x01" * 64
    session.expire_all()
    problems = ledger_tree.verify(session, session.get(LedgerBook, village_id))
    assert [p.what for p in problems] == ["the book's tree edge differs from the tree"]


def test_the_tree_is_append_only_in_the_database(session):
    books()
    for statement in ("UPDATE tree_nodes SET hash = hash", "DELETE FROM tree_nodes"):
        with pytest.raises(DBAPIError), unit_of_work() as s:
            s.execute(text(statement))
    assert session.scalar(select(func.count()).select_from(TreeNode)) > 0
