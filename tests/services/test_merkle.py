"""RFC 9162 Merkle trees (services/merkle.py): the transparency-dev/merkle test vectors (tests/data/merkle),
an independent recursive reference for the roots, and random trees (hypothesis): every leaf's proof and
every consistency proof verifies, every tampered one fails."""

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lovemart.services import merkle

VECTORS = Path(__file__).parent.parent / "data" / "merkle"
#: The RFC 6962 test leaves the vectors are computed over.
RFC_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]


def b64(value: str) -> bytes:
    return base64.b64decode(value)


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, written as the RFC states it (recursive, from the leaves' data)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])).digest()


class Tree:
    """Leaves appended through the compact range, nodes kept as a store keeps them."""

    def __init__(self, leaves: list[bytes]):
        self.edge, self.nodes = [], {}
        for n, data in enumerate(leaves):
            self.edge, completed = merkle.append(self.edge, n, merkle.leaf_hash(data))
            self.nodes.update({(level, index): digest for level, index, digest in completed})
        self.size = len(leaves)

    def read(self, wanted):
        return {node: self.nodes[node] for node in wanted}


def _cases(kind: str):
    files = sorted((VECTORS / kind).glob("*/*.json"))
    assert files, f"no {kind} vectors in {VECTORS}"
    return [pytest.param(json.loads(f.read_text()), id=f"{f.parent.name}/{f.stem}") for f in files]


@pytest.mark.parametrize("case", _cases("inclusion"))
def test_inclusion_vectors(case):
    proof = [b64(p) for p in case["proof"] or []]
    ok = merkle.verify_inclusion(
        case["leafIdx"], case["treeSize"], b64(case["leafHash"]), proof, b64(case["root"])
    )
    assert ok is not case["wantErr"], case["desc"]
    if not case["wantErr"]:  # and we produce the very same proof from the same leaves
        tree = Tree(RFC_LEAVES[: case["treeSize"]])
        assert merkle.inclusion_proof(case["leafIdx"], case["treeSize"], tree.read) == proof


@pytest.mark.parametrize("case", _cases("consistency"))
def test_consistency_vectors(case):
    proof = [b64(p) for p in case["proof"] or []]
    ok = merkle.verify_consistency(
        case["size1"], case["size2"], b64(case["root1"]), b64(case["root2"]), proof
    )
    assert ok is not case["wantErr"], case["desc"]
    if not case["wantErr"]:
        tree = Tree(RFC_LEAVES[: case["size2"]])
        assert merkle.consistency_proof(case["size1"], case["size2"], tree.read) == proof


def test_roots_of_the_rfc_leaves_agree_with_the_reference():
    for size in range(len(RFC_LEAVES) + 1):
        tree = Tree(RFC_LEAVES[:size])
        expected = reference_root(RFC_LEAVES[:size])
        assert merkle.edge_root(tree.edge) == expected
        assert merkle.root(size, tree.read) == expected
    assert merkle.root(0, Tree([]).read) == merkle.EMPTY_ROOT


def test_append_refuses_an_edge_that_does_not_match_the_size():
    with pytest.raises(ValueError):
        merkle.append([], 1, merkle.leaf_hash(b"x"))


def test_edge_packs_and_unpacks():
    edge = Tree(RFC_LEAVES[:7]).edge
    assert len(edge) == 3
    assert merkle.unpack(merkle.pack(edge)) == edge


unique_leaves = st.lists(st.binary(max_size=12), min_size=1, max_size=70, unique=True)


def _flip(digest: bytes, bit: int) -> bytes:
    data = bytearray(digest)
    data[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    return bytes(data)


def _tampered_proofs(proof: list[bytes], draw) -> list[list[bytes]]:
    tampered = [proof + [hashlib.sha256(b"extra").digest()]]
    if proof:
        i = draw(st.integers(0, len(proof) - 1))
        tampered.append(proof[:i] + [_flip(proof[i], draw(st.integers(0, 255)))] + proof[i + 1 :])
        tampered.append(proof[:i] + proof[i + 1 :])
        tampered.append(proof[:i] + [proof[i]] + proof[i:])
    return tampered


@settings(max_examples=60, deadline=None)
@given(leaves=unique_leaves, data=st.data())
def test_every_leaf_proof_verifies_and_every_tampered_one_fails(leaves, data):
    tree, size = Tree(leaves), len(leaves)
    root = reference_root(leaves)
    assert merkle.edge_root(tree.edge) == root
    for index, leaf in enumerate(leaves):
        proof = merkle.inclusion_proof(index, size, tree.read)
        digest = merkle.leaf_hash(leaf)
        assert merkle.verify_inclusion(index, size, digest, proof, root)
        for bad in _tampered_proofs(proof, data.draw):
            assert not merkle.verify_inclusion(index, size, digest, bad, root)
        assert not merkle.verify_inclusion(
            index, size, _flip(digest, data.draw(st.integers(0, 255))), proof, root
        )
        assert not merkle.verify_inclusion(index, size, digest, proof, _flip(root, 7))
        other = data.draw(st.integers(0, size - 1))
        if other != index:
            assert not merkle.verify_inclusion(other, size, digest, proof, root)
        assert not merkle.verify_inclusion(size, size, digest, proof, root)


@settings(max_examples=60, deadline=None)
@given(leaves=unique_leaves, data=st.data())
def test_every_consistency_proof_verifies_and_every_tampered_one_fails(leaves, data):
    tree, size = Tree(leaves), len(leaves)
    new_root = reference_root(leaves)
    for old_size in range(1, size + 1):
        old_root = reference_root(leaves[:old_size])
        proof = merkle.consistency_proof(old_size, size, tree.read)
        assert merkle.verify_consistency(old_size, size, old_root, new_root, proof)
        if old_size == size:
            continue
        for bad in _tampered_proofs(proof, data.draw):
            assert not merkle.verify_consistency(old_size, size, old_root, new_root, bad)
        assert not merkle.verify_consistency(old_size, size, _flip(old_root, 3), new_root, proof)
        assert not merkle.verify_consistency(old_size, size, old_root, _flip(new_root, 3), proof)
        # a rewritten past: the old tree with one of its leaves changed is not a prefix of the new one
        changed = data.draw(st.integers(0, old_size - 1))
        forged = reference_root(leaves[:changed] + [leaves[changed] + b"!"] + leaves[changed + 1 : old_size])
        assert not merkle.verify_consistency(old_size, size, forged, new_root, proof)


def test_ranges_refuse_sizes_outside_the_tree():
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(3, 3)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(4, 3)
    assert merkle.consistency_ranges(0, 5) == []
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, reference_root(RFC_LEAVES[:5]), [])
