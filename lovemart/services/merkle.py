"""Merkle trees as in RFC 9162 §2.1 (Certificate Transparency 2.0): hashes, proofs and their verification.

Pure functions over bytes, no database (hashing and verification come from lovemart/verify_notice.py).
A tree over n leaves is addressed by its *perfect subtrees*: node
(level, index) is the hash of the 2**level leaves from index * 2**level on (level 0: the leaf hashes). Every
hash a proof needs is the hash of a range of leaves that RFC 9162's recursion cuts out, and every such range
is a run of perfect subtrees, largest first (`perfect_parts`); so a store that keeps the perfect subtrees
(see `services/ledger_tree.py`) answers any proof for any past tree size with O(log n) reads.

Proofs are produced in two steps, so that a store can fetch all the nodes it needs at once:
`inclusion_ranges` / `consistency_ranges` name the leaf ranges, `range_hashes` turns them into hashes from
the nodes read.

Appending uses a *compact range* (`append`): the hashes of the perfect subtrees along the right edge, one per
set bit of the tree size, largest first. Adding a leaf merges as many of them as the size has trailing ones
(O(log n), amortised two hashes), and names the new perfect subtrees for the store.
"""

from collections.abc import Callable, Iterable, Sequence

# Hashing and verification live in the standalone verifier (one file, standard library only), so that the
# server, the county's witness and anyone's copy of the verifier share one rulebook; re-exported here.
from lovemart.verify_notice import EMPTY_ROOT as EMPTY_ROOT
from lovemart.verify_notice import HASH_SIZE as HASH_SIZE
from lovemart.verify_notice import leaf_hash as leaf_hash
from lovemart.verify_notice import node_hash as node_hash
from lovemart.verify_notice import root_from_inclusion as root_from_inclusion
from lovemart.verify_notice import verify_consistency as verify_consistency
from lovemart.verify_notice import verify_inclusion as verify_inclusion

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [start, end)


def _split(size: int) -> int:
    """The largest power of two smaller than `size` (size ≥ 2): where RFC 9162 cuts a tree in two."""
    return 1 << ((size - 1).bit_length() - 1)


# ---- the ranges a proof is made of ------------------------------------------------------------------------


def perfect_parts(start: int, end: int) -> list[Node]:
    """The perfect subtrees that make up leaves [start, end), left to right (largest first for the ranges
    RFC 9162 cuts out)."""
    parts = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while start + (1 << level) > end:
            level -= 1
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes make the inclusion proof of leaf `index` in a tree of `size` leaves,
    bottom-up (RFC 9162 §2.1.3.1, PATH)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    ranges, start, end = [], 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """The ranges whose hashes prove that the tree of `old_size` leaves is a prefix of the tree of
    `new_size` (RFC 9162 §2.1.4.1, SUBPROOF); empty when either tree is empty or both are the same."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"a tree of {new_size} cannot extend one of {old_size}")
    if old_size in (0, new_size):
        return []
    ranges, start, end, whole = [], 0, new_size, True
    m = old_size
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        ranges.append((start, end))
    return ranges[::-1]


def nodes_for(ranges: Iterable[Range]) -> set[Node]:
    """Every perfect subtree the ranges are made of: what a store has to read."""
    return {node for start, end in ranges for node in perfect_parts(start, end)}


def range_hash(start: int, end: int, nodes: dict[Node, bytes]) -> bytes:
    """The RFC 9162 hash of leaves [start, end) from its perfect subtrees (folded from the right)."""
    if start == end:
        return EMPTY_ROOT
    parts = perfect_parts(start, end)
    digest = nodes[parts[-1]]
    for part in reversed(parts[:-1]):
        digest = node_hash(nodes[part], digest)
    return digest


def range_hashes(ranges: Sequence[Range], nodes: dict[Node, bytes]) -> list[bytes]:
    return [range_hash(start, end, nodes) for start, end in ranges]


Reader = Callable[[set[Node]], dict[Node, bytes]]


def inclusion_proof(index: int, size: int, read: Reader) -> list[bytes]:
    ranges = inclusion_ranges(index, size)
    return range_hashes(ranges, read(nodes_for(ranges)))


def consistency_proof(old_size: int, new_size: int, read: Reader) -> list[bytes]:
    ranges = consistency_ranges(old_size, new_size)
    return range_hashes(ranges, read(nodes_for(ranges)))


def root(size: int, read: Reader) -> bytes:
    return range_hash(0, size, read(set(perfect_parts(0, size))))


# ---- appending: the compact range ------------------------------------------------------------------------


def append(edge: Sequence[bytes], size: int, leaf: bytes) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """Add `leaf` as leaf number `size` to a tree whose right edge is `edge` (the perfect subtrees of its
    size's set bits, largest first): the new edge and the perfect subtrees completed, (level, index, hash),
    the leaf first."""
    if len(edge) != size.bit_count():
        raise ValueError(f"an edge of {len(edge)} hashes cannot span {size} leaves")
    edge, digest, level, index = list(edge), leaf, 0, size
    completed = [(0, index, leaf)]
    while index & 1:
        digest = node_hash(edge.pop(), digest)
        level, index = level + 1, index >> 1
        completed.append((level, index, digest))
    edge.append(digest)
    return edge, completed


def edge_root(edge: Sequence[bytes]) -> bytes:
    """The root of the tree whose right edge is `edge`."""
    if not edge:
        return EMPTY_ROOT
    digest = edge[-1]
    for part in reversed(edge[:-1]):
        digest = node_hash(part, digest)
    return digest


def pack(edge: Sequence[bytes]) -> bytes:
    return b"".join(edge)


def unpack(packed: bytes) -> list[bytes]:
    return [bytes(packed[i : i + HASH_SIZE]) for i in range(0, len(packed), HASH_SIZE)]
