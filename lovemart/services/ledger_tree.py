"""A village's ledger as an RFC 9162 Merkle tree: leaf n is entry seq n + 1.

The leaf is SHA-256(0x00 || the entry's public content, `leaf_content`: canonical JSON of what a notice shows
of it). `points.write_entry` appends the leaf in the entry's own transaction (`append`: the book's compact
range, O(log n), and the perfect subtrees it completes into `tree_nodes`). Proofs for any tree size up to
the current one read O(log n) stored nodes at once (`inclusion_proofs`, `consistency_proof`, `root_at`).
`verify` rebuilds nothing in memory: it checks every leaf against its entry, each level against the one below,
and the book's edge against the nodes.

Core statements on the session's connection, like the rest of the ledger's hot path.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, select, tuple_
from sqlalchemy.orm import Session

from lovemart.models import LedgerBook, LedgerEntry, TreeNode
from lovemart.services import merkle

_nodes, _entries = TreeNode.__table__, LedgerEntry.__table__
_INSERT_NODES = insert(_nodes)
#: The columns `leaf_content` reads (the migration that built the first trees reads these too).
LEAF_COLUMNS = (
    _entries.c.village_id,
    _entries.c.seq,
    _entries.c.account_id,
    _entries.c.kind,
    _entries.c.points,
    _entries.c.balance_after,
    _entries.c.rule_name,
    _entries.c.note,
    _entries.c.reversal_of_id,
    _entries.c.created_at,
)
_LEVEL = (
    select(_nodes.c.idx, _nodes.c.hash)
    .where(_nodes.c.village_id == bindparam("village"), _nodes.c.level == bindparam("level"))
    .order_by(_nodes.c.idx)
)
_STREAM = 2000


def leaf_content(entry) -> str:
    """The entry as its tree leaf commits to it: canonical JSON (sorted keys, no spaces, UTF-8) of what is
    public about it. A phone hashes exactly this text, so it is what the villager page and the bundle carry.
    (Request keys, evidence and staff ids stay out: the entry's chain hash covers those.)"""
    content = {
        "village": entry.village_id,
        "seq": entry.seq,
        "account": entry.account_id,
        "kind": entry.kind,
        "points": entry.points,
        "balance_after": entry.balance_after,
        "rule": entry.rule_name,
        "note": entry.note,
        "reversal_of": entry.reversal_of_id,
        "at": entry.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def leaf_of(entry) -> bytes:
    return merkle.leaf_hash(leaf_content(entry).encode())


def append(connection, *, village_id: int, size: int, edge: bytes, leaf: bytes) -> bytes:
    """Add `leaf` as leaf number `size`: stores the perfect subtrees it completes; returns the new edge."""
    new_edge, completed = merkle.append(merkle.unpack(edge), size, leaf)
    connection.execute(
        _INSERT_NODES,
        [
            {"village_id": village_id, "level": lv, "idx": idx, "hash": digest}
            for lv, idx, digest in completed
        ],
    )
    return merkle.pack(new_edge)


class Builder:
    """Appends many leaves of one village in chunks (the county generator, the first migration to trees, a
    test that rewrites the past as a careful forger would)."""

    def __init__(self, connection, village_id: int, size: int = 0, edge: bytes = b""):
        self.connection, self.village_id, self.size = connection, village_id, size
        self.edge, self.pending = merkle.unpack(edge), []

    def add(self, leaf: bytes) -> None:
        self.edge, completed = merkle.append(self.edge, self.size, leaf)
        self.size += 1
        self.pending.extend(
            {"village_id": self.village_id, "level": lv, "idx": idx, "hash": digest}
            for lv, idx, digest in completed
        )
        if len(self.pending) >= _STREAM:
            self.flush()

    def flush(self) -> bytes:
        if self.pending:
            self.connection.execute(_INSERT_NODES, self.pending)
            self.pending = []
        return merkle.pack(self.edge)


class TreeIncomplete(LookupError):
    """A node a proof needs is not stored: the tree was damaged behind the application's back."""


def reader(session: Session, village_id: int) -> merkle.Reader:
    """The village's stored nodes, as `merkle` asks for them: a set of (level, idx) read in one query."""

    def read(wanted: set[merkle.Node]) -> dict[merkle.Node, bytes]:
        if not wanted:
            return {}
        rows = session.connection().execute(
            select(_nodes.c.level, _nodes.c.idx, _nodes.c.hash).where(
                _nodes.c.village_id == village_id, tuple_(_nodes.c.level, _nodes.c.idx).in_(sorted(wanted))
            )
        )
        found = {(level, idx): bytes(digest) for level, idx, digest in rows}
        if missing := wanted - found.keys():
            raise TreeIncomplete(f"village {village_id}: nodes {sorted(missing)[:3]} missing")
        return found

    return read


def root_at(session: Session, village_id: int, size: int) -> bytes:
    return merkle.root(size, reader(session, village_id))


def inclusion_proofs(
    session: Session, village_id: int, size: int, seqs: Iterable[int]
) -> dict[int, list[bytes]]:
    """The inclusion proof of each entry (by seq) in the village's tree of `size` leaves, read at once."""
    ranges = {seq: merkle.inclusion_ranges(seq - 1, size) for seq in seqs}
    nodes = reader(session, village_id)(merkle.nodes_for(r for rs in ranges.values() for r in rs))
    return {seq: merkle.range_hashes(rs, nodes) for seq, rs in ranges.items()}


def consistency_proof(session: Session, village_id: int, old_size: int, new_size: int) -> list[bytes]:
    return merkle.consistency_proof(old_size, new_size, reader(session, village_id))


@dataclass(frozen=True)
class TreeProblem:
    what: str
    entry_id: int | None = None


def verify(session: Session, book: LedgerBook) -> list[TreeProblem]:
    """The village's tree against its entries: every leaf is its entry's, every node its children's, no node
    beyond the book's size, and the book's edge the tree's right edge. The first problem found."""
    connection, village = session.connection(), book.village_id
    size = book.entry_count
    stored = _stream(connection, village, 0)
    entries = connection.execute(
        select(_entries.c.id, *LEAF_COLUMNS)
        .where(_entries.c.village_id == village)
        .order_by(_entries.c.seq)
        .execution_options(yield_per=_STREAM)
    )
    for entry in entries:
        idx, digest = next(stored, (None, None))
        if idx != entry.seq - 1 or digest != leaf_of(entry):
            return [TreeProblem(f"tree leaf {entry.seq - 1} is not the hash of entry #{entry.seq}", entry.id)]
    if next(stored, None) is not None:
        return [TreeProblem("the tree has leaves beyond the ledger's entries")]
    level = 1
    while size >> level or _count(connection, village, level):
        if problem := _check_level(connection, village, level, size >> level):
            return [TreeProblem(problem)]
        level += 1
    parts = merkle.perfect_parts(0, size)
    try:
        found = reader(session, village)(set(parts))
    except TreeIncomplete as error:
        return [TreeProblem(str(error))]
    if merkle.unpack(book.tree_edge) != [found[part] for part in parts]:
        return [TreeProblem("the book's tree edge differs from the tree")]
    return []


def _stream(connection, village: int, level: int) -> Iterator[tuple[int, bytes]]:
    rows = connection.execute(
        _LEVEL.execution_options(yield_per=_STREAM), {"village": village, "level": level}
    )
    return ((idx, bytes(digest)) for idx, digest in rows)


def _count(connection, village: int, level: int) -> int:
    return connection.execute(
        select(func.count()).where(_nodes.c.village_id == village, _nodes.c.level == level)
    ).scalar_one()


def _check_level(connection, village: int, level: int, expected_count: int) -> str | None:
    below, here = _stream(connection, village, level - 1), _stream(connection, village, level)
    count = 0
    for idx, digest in here:
        (left_idx, left), (right_idx, right) = next(below, (None, None)), next(below, (None, None))
        if (
            idx != count
            or (left_idx, right_idx) != (2 * idx, 2 * idx + 1)
            or digest != merkle.node_hash(left, right)
        ):
            return f"tree node ({level}, {idx}) is not the hash of its children"
        count += 1
    if count != expected_count:
        return f"the tree has {count} nodes at level {level} instead of {expected_count}"
    return None
