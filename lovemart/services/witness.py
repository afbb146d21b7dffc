"""The county office as witness of every village's ledger tree.

For each village the witness keeps the last tree head it accepted (size, root). Shown a new one, with the
log's consistency proof from the accepted one, it checks the proof (RFC 9162 §2.1.4, the same code as the
standalone verifier): if the new tree extends the old, the new head is accepted; if not, the village's books
were rewritten since, and the observation is a *fork*, which stays on the county dashboard as a red alarm
(observations are append-only; the last accepted head stays the genuine one, so every later head is
checked against it too).

The witness is shown a head each time a notice is published (`see_checkpoint`, in the publishing
transaction), and whenever `flask lovemart witness` polls every village's current head (from cron).

An accepted notice checkpoint is countersigned with the witness's own Ed25519 key (lovemart/notekey.py):
the bundle carries the countersigned note, and the standalone verifier checks it.
"""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lovemart import notekey
from lovemart.models import Checkpoint, LedgerBook, Village, WitnessObservation
from lovemart.models.transparency import WitnessVerdict
from lovemart.notekey import NoteKey
from lovemart.services import ledger_tree, merkle


@dataclass(frozen=True)
class Head:
    size: int
    root: bytes


def see_checkpoint(
    session: Session, checkpoint: Checkpoint, key: NoteKey | None = None
) -> WitnessObservation:
    """Check a notice's checkpoint; if it extends the accepted head, accept and countersign it: the signed
    note with the witness's signature line added (C2SP signed-note: a second signature on the same body)."""
    body = checkpoint.note.split("\n\n", 1)[0] + "\n"

    def countersign() -> str:
        return checkpoint.note + (key or notekey.witness_key()).signature_line(body)

    head = Head(checkpoint.size, checkpoint.root)
    return _observe(session, checkpoint.village_id, head, checkpoint.id, countersign)


def cosigned(session: Session, checkpoint: Checkpoint) -> str | None:
    """The witness's countersigned note of `checkpoint`, if it accepted it."""
    return session.scalar(
        select(WitnessObservation.cosigned).where(
            WitnessObservation.village_id == checkpoint.village_id,
            WitnessObservation.checkpoint_id == checkpoint.id,
            WitnessObservation.cosigned.is_not(None),
        )
    )


def poll(session: Session, village_ids: list[int] | None = None) -> list[WitnessObservation]:
    """Observe every village's current tree head (its book's size and the root of its edge); the new
    observations (a head already seen last time is not recorded again)."""
    stmt = select(LedgerBook).order_by(LedgerBook.village_id)
    if village_ids is not None:
        stmt = stmt.where(LedgerBook.village_id.in_(village_ids))
    seen = []
    for book in session.scalars(stmt):
        head = Head(book.entry_count, merkle.edge_root(merkle.unpack(book.tree_edge)))
        if (observation := _observe(session, book.village_id, head, None)) is not None:
            seen.append(observation)
    return seen


def _observe(
    session: Session, village_id: int, head: Head, checkpoint_id: int | None, countersign=None
) -> WitnessObservation | None:
    """Record what the witness makes of `head` (rows are append-only: the countersignature, made only for
    an accepted head, is written with it)."""
    latest = session.scalar(
        select(WitnessObservation)
        .where(WitnessObservation.village_id == village_id)
        .order_by(WitnessObservation.id.desc())
        .limit(1)
    )
    if (
        latest is not None
        and (latest.size, bytes(latest.root)) == (head.size, head.root)
        and checkpoint_id is None
    ):
        return None
    accepted = _accepted(session, village_id)
    verdict = WitnessVerdict.CONSISTENT
    if accepted is not None and not _extends(session, village_id, accepted, head):
        verdict = WitnessVerdict.FORK
    observation = WitnessObservation(
        village_id=village_id,
        checkpoint_id=checkpoint_id,
        size=head.size,
        root=head.root,
        previous_size=accepted.size if accepted is not None else None,
        previous_root=accepted.root if accepted is not None else None,
        verdict=verdict,
        cosigned=countersign() if countersign is not None and verdict == WitnessVerdict.CONSISTENT else None,
    )
    session.add(observation)
    session.flush()
    return observation


def _accepted(session: Session, village_id: int) -> WitnessObservation | None:
    return session.scalar(
        select(WitnessObservation)
        .where(
            WitnessObservation.village_id == village_id,
            WitnessObservation.verdict == WitnessVerdict.CONSISTENT,
        )
        .order_by(WitnessObservation.id.desc())
        .limit(1)
    )


def _extends(session: Session, village_id: int, accepted: WitnessObservation, head: Head) -> bool:
    """Whether the log's consistency proof shows `head` to extend the accepted head."""
    if head.size < accepted.size:
        return False
    try:
        proof = ledger_tree.consistency_proof(session, village_id, accepted.size, head.size)
    except ledger_tree.TreeIncomplete:
        return False
    return merkle.verify_consistency(accepted.size, head.size, bytes(accepted.root), head.root, proof)


@dataclass(frozen=True)
class Alarm:
    """A village whose books the witness caught rewritten: the accepted head, and the one contradicting it."""

    village_id: int
    village: str
    accepted_size: int
    seen_size: int
    seen_at: object


def alarms(session: Session, village_ids) -> list[Alarm]:
    """The villages (of `village_ids`) with a fork, each with its first contradicting observation."""
    first_fork = (
        select(func.min(WitnessObservation.id))
        .where(
            WitnessObservation.verdict == WitnessVerdict.FORK, WitnessObservation.village_id.in_(village_ids)
        )
        .group_by(WitnessObservation.village_id)
    )
    rows = session.execute(
        select(WitnessObservation, Village.name)
        .join(Village, Village.id == WitnessObservation.village_id)
        .where(WitnessObservation.id.in_(first_fork))
        .order_by(Village.name)
    )
    return [Alarm(o.village_id, name, o.previous_size, o.size, o.seen_at) for o, name in rows]
