"""Checkpoints: what a published notice commits to, and the proofs a reader checks against it.

Publishing a notice (`notices.publish`) seals a `Checkpoint` in the same transaction: the village's ledger
tree at that moment (size = the chain position the notice names, root from the book's compact range, no
reads) as a C2SP tlog-checkpoint note body:

    lovemart/<county code>/<village code>
    <tree size>
    <base64 root>

The paper notice prints the root's `fingerprint` (4 groups of 4 characters) and a QR code of the note; the
villager's page and the downloadable bundle carry each line's leaf text with its inclusion proof, and the
bundle the consistency proof from the previous notice's checkpoint. Every proof is computed from the tree
as it is stored *now*, so a past entry rewritten afterwards makes them fail against the published root.

The note is signed (C2SP signed-note, Ed25519) with the deployment's notice key (lovemart/notekey.py).
"""

import base64
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lovemart import notekey
from lovemart.models import Checkpoint, LedgerBook, Notice, Village
from lovemart.models.notices import NoticeStatus
from lovemart.notekey import NoteKey
from lovemart.services import accounts, ledger_tree, merkle, witness
from lovemart.services.points import local_day_bounds
from lovemart.verify_notice import BUNDLE_FORMAT
from lovemart.verify_notice import fingerprint as fingerprint

ORIGIN_PREFIX = "lovemart"


def origin(village: Village) -> str:
    """The log's name: unique per village (village codes are unique in the deployment)."""
    return f"{ORIGIN_PREFIX}/{village.county.code}/{village.code}"


def note_body(log: str, size: int, root: bytes) -> str:
    return f"{log}\n{size}\n{base64.b64encode(root).decode()}\n"


def seal(
    session: Session, *, village: Village, notice: Notice, book: LedgerBook, key: NoteKey | None = None
) -> Checkpoint:
    """The checkpoint of `notice`: the village's tree as the locked `book` has it, shown to the county's
    witness (services/witness.py) in the same transaction."""
    size, root = book.entry_count, merkle.edge_root(merkle.unpack(book.tree_edge))
    log, key = origin(village), key or notekey.notice_key()
    body = note_body(log, size, root)
    checkpoint = Checkpoint(
        village_id=village.id,
        notice_id=notice.id,
        origin=log,
        size=size,
        root=root,
        note=body + "\n" + key.signature_line(body),
    )
    session.add(checkpoint)
    session.flush()
    witness.see_checkpoint(session, checkpoint)
    return checkpoint


def of_notice(session: Session, notice: Notice) -> Checkpoint | None:
    """The notice's checkpoint (none for a notice published before notices had one)."""
    return session.scalar(
        select(Checkpoint).where(
            Checkpoint.village_id == notice.village_id, Checkpoint.notice_id == notice.id
        )
    )


def of_notices(session: Session, village_id: int, notice_ids) -> dict[int, Checkpoint]:
    found = session.scalars(
        select(Checkpoint).where(
            Checkpoint.village_id == village_id, Checkpoint.notice_id.in_(list(notice_ids))
        )
    )
    return {c.notice_id: c for c in found}


def previous(session: Session, checkpoint: Checkpoint) -> Checkpoint | None:
    """The checkpoint the village published before this one."""
    return session.scalar(
        select(Checkpoint)
        .where(Checkpoint.village_id == checkpoint.village_id, Checkpoint.id < checkpoint.id)
        .order_by(Checkpoint.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class ProvenLine:
    """One ledger entry as the tree commits to it now, with its inclusion proof in a checkpoint's tree."""

    seq: int
    leaf: str
    proof: list[bytes]

    @property
    def proof_b64(self) -> list[str]:
        return [base64.b64encode(h).decode() for h in self.proof]


def prove(session: Session, checkpoint: Checkpoint, seqs) -> list[ProvenLine]:
    """The entries `seqs` (each within the checkpoint's tree) with their proofs: two queries in all."""
    wanted = sorted({seq for seq in seqs if 1 <= seq <= checkpoint.size})
    if not wanted:
        return []
    entries = ledger_tree.LEAF_COLUMNS[0].table
    rows = session.connection().execute(
        select(*ledger_tree.LEAF_COLUMNS).where(
            entries.c.village_id == checkpoint.village_id, entries.c.seq.in_(wanted)
        )
    )
    leaves = {row.seq: ledger_tree.leaf_content(row) for row in rows}
    proofs = ledger_tree.inclusion_proofs(session, checkpoint.village_id, checkpoint.size, leaves)
    return [ProvenLine(seq, leaves[seq], proofs[seq]) for seq in wanted if seq in leaves]


def consistency(session: Session, old: Checkpoint, new: Checkpoint) -> list[bytes]:
    """The proof, from the tree as stored now, that `old`'s tree is a prefix of `new`'s."""
    return ledger_tree.consistency_proof(session, new.village_id, old.size, new.size)


def bundle(session: Session, notice: Notice, doc: dict) -> dict | None:
    """Everything the standalone verifier (lovemart/verify_notice.py) needs to check a notice: its
    checkpoint, every ledger line it lists with its inclusion proof, and the consistency proof from the
    previous notice's checkpoint. None for a notice without a checkpoint."""
    checkpoint = of_notice(session, notice)
    if checkpoint is None:
        return None
    households = {
        line["seq"]: section["number"] for section in doc.get("households", ()) for line in section["lines"]
    }
    earlier = previous(session, checkpoint)
    countersigned = witness.cosigned(session, checkpoint)
    return {
        "format": BUNDLE_FORMAT,
        "checkpoint": checkpoint.note,
        "fingerprint": fingerprint(checkpoint.root),
        "key": notekey.notice_key().vkey,
        "witness": None
        if countersigned is None
        else {"key": notekey.witness_key().vkey, "checkpoint": countersigned},
        "notice": {"village": doc["village"], "period": doc["period"], "digest": notice.digest},
        "lines": [
            {"seq": line.seq, "household": households[line.seq], "leaf": line.leaf, "proof": line.proof_b64}
            for line in prove(session, checkpoint, households)
        ],
        "previous": None
        if earlier is None
        else {
            "checkpoint": earlier.note,
            "consistency": [base64.b64encode(h).decode() for h in consistency(session, earlier, checkpoint)],
        },
    }


# ---- the household's own check, on the villager's page ---------------------------------------------------


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class CheckedLine:
    """A household's line of a notice as the phone checks it: the leaf text it hashes (which names its
    position, `seq`) and its inclusion proof, written by a `ProofTable`."""

    leaf: str
    proof: str
    created_at: datetime
    label: str
    points: int


class ProofTable:
    """Writes the proofs of one page so that each hash is sent once: the lines of a household's notices
    share most of their proof nodes (the same trees, nearby leaves), and a hash does not compress.

    A proof is written as space-separated tokens, bottom-up: a run of hashes seen for the first time on the
    page is one unpadded base64 token of their concatenated bytes (32 bytes each, so at least 43
    characters); a hash already sent is its number (1–9 digits), counted from 0 in the order hashes first
    appear on the page. The proofs must therefore be read in the order they were written, as the page lists
    them. Each line's proof is still complete: the phone recomputes every line's root on its own."""

    def __init__(self) -> None:
        self._numbers: dict[bytes, int] = {}

    def write(self, proof: list[bytes]) -> str:
        tokens, run = [], b""
        for digest in proof:
            number = self._numbers.get(digest)
            if number is None:
                self._numbers[digest] = len(self._numbers)
                run += digest
                continue
            if run:
                tokens.append(_unpadded(run))
                run = b""
            tokens.append(str(number))
        if run:
            tokens.append(_unpadded(run))
        return " ".join(tokens)


def _unpadded(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


@dataclass(frozen=True)
class NoticeCheck:
    period_start: date
    period_end: date
    size: int
    root: str  # base64
    fingerprint: str
    lines: list[CheckedLine]


def household_checks(session: Session, *, village_id: int, account_id: int, since: date) -> list[NoticeCheck]:
    """Every published notice with a checkpoint whose period ends on or after `since`, newest first, with
    the household's lines of it (its entries of the period, as the ledger has them now) and their
    inclusion proofs in the notice's tree, written by one `ProofTable` in this order: three queries whatever
    the number of notices and lines."""
    notices = session.execute(
        select(Notice.period_start, Notice.period_end, Checkpoint.size, Checkpoint.root)
        .join(Checkpoint, Checkpoint.notice_id == Notice.id)
        .where(
            Notice.village_id == village_id,
            Notice.status == NoticeStatus.PUBLISHED.value,
            Notice.period_end >= since,
        )
        .order_by(Notice.period_start.desc())
    ).all()
    if not notices:
        return []
    first, _ = local_day_bounds(min(n.period_start for n in notices), None)
    _, last = local_day_bounds(None, max(n.period_end for n in notices))
    entries = ledger_tree.LEAF_COLUMNS[0].table
    rows = (
        session.connection()
        .execute(
            select(*ledger_tree.LEAF_COLUMNS)
            .where(
                entries.c.village_id == village_id,
                entries.c.account_id == account_id,
                entries.c.created_at >= first,
                entries.c.created_at < last,
            )
            .order_by(entries.c.seq)
        )
        .all()
    )
    listed = []
    for notice in notices:
        start, end = local_day_bounds(notice.period_start, notice.period_end)
        mine = [row for row in rows if start <= row.created_at < end and row.seq <= notice.size]
        listed.append((notice, mine, [merkle.inclusion_ranges(row.seq - 1, notice.size) for row in mine]))
    nodes = ledger_tree.reader(session, village_id)(
        merkle.nodes_for(r for _, _, ranges in listed for rs in ranges for r in rs)
    )
    table = ProofTable()  # in the order the page lists the lines
    return [
        NoticeCheck(
            notice.period_start,
            notice.period_end,
            notice.size,
            b64(notice.root),
            fingerprint(notice.root),
            [
                CheckedLine(
                    ledger_tree.leaf_content(row),
                    table.write(merkle.range_hashes(rs, nodes)),
                    row.created_at,
                    accounts.entry_label(row.kind, row.rule_name),
                    row.points,
                )
                for row, rs in zip(mine, ranges, strict=True)
            ],
        )
        for notice, mine, ranges in listed
    ]
