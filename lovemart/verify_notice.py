"""Check a downloaded LoveMart notice bundle (公示校验包) without trusting the server that produced it.

    python -m lovemart.verify_notice bundle.json      # from a LoveMart checkout
    python verify_notice.py bundle.json               # this one file, anywhere (Python ≥ 3.11)

This file imports only the standard library and, for the signatures, the `cryptography` package
(`pip install cryptography`), so that it can be copied out and read in full. It checks:

1. the checkpoint (C2SP tlog-checkpoint note: origin, tree size, base64 root of the village's ledger tree)
   is well formed and signed (C2SP signed-note, Ed25519) by the key the bundle names, and prints that key's
   ID and the root's fingerprint, to compare with those on the paper notice and in LoveMart's README;
2. every line of the bundle: the leaf (SHA-256 of 0x00 and the line's text) with its inclusion proof leads to
   that root (RFC 9162 §2.1.3);
3. the consistency proof from the previous notice's checkpoint: the books of then are a prefix of the books
   of now, nothing in the past was rewritten (RFC 9162 §2.1.4).

Exit status 0 when everything holds, 1 naming what does not, 2 for a file that is not a bundle.

The Merkle verification below is also what the application itself uses (lovemart/services/merkle.py
imports it), so the server, the county's witness and this verifier cannot disagree on the rules.
"""

import base64
import binascii
import hashlib
import json
import sys
from collections.abc import Sequence

HASH_SIZE = 32
BUNDLE_FORMAT = "lovemart-notice-bundle/1"


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


#: The root of the empty tree: the hash of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT = sha256(b"")


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes | bytearray) and len(h) == HASH_SIZE for h in hashes)


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root that `proof` leads to from `leaf` at `index` (RFC 9162 §2.1.3.2), or None if the proof
    cannot belong to a tree of `size` leaves."""
    if not 0 <= index < size or not _well_formed(leaf, *proof):
        return None
    fn, sn, digest = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            digest = node_hash(digest, sibling)
        fn, sn = fn >> 1, sn >> 1
    return digest if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes) -> bool:
    return root_from_inclusion(index, size, leaf, proof) == root_hash and _well_formed(root_hash)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows the tree (old_size, old_root) to be a prefix of (new_size, new_root)
    (RFC 9162 §2.1.4.2)."""
    if not 0 <= old_size <= new_size or not _well_formed(old_root, new_root, *proof):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_digest = new_digest = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            old_digest, new_digest = node_hash(node, old_digest), node_hash(node, new_digest)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            new_digest = node_hash(new_digest, node)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and old_digest == old_root and new_digest == new_root


# ---- checkpoints -------------------------------------------------------------------------------------------


class BadCheckpoint(ValueError):
    pass


def parse_checkpoint(note: str) -> tuple[str, int, bytes]:
    """(origin, size, root) of a C2SP tlog-checkpoint note body: three lines, each ending in a newline;
    further lines (extensions) are allowed; signature lines, if any, follow a blank line."""
    body = note.split("\n\n", 1)[0] + "\n" if "\n\n" in note else note
    lines = body[:-1].split("\n")
    if not body.endswith("\n") or len(lines) < 3 or any(not line for line in lines):
        raise BadCheckpoint("a checkpoint has an origin, a size and a root, one a line")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise BadCheckpoint(f"tree size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as error:
        raise BadCheckpoint(f"root {root_text!r} is not base64") from error
    if len(root) != HASH_SIZE:
        raise BadCheckpoint("the root is not a SHA-256 hash")
    return origin, int(size_text), root


def parse_vkey(vkey: str) -> tuple[str, bytes, bytes]:
    """(name, key ID, Ed25519 public key) of a signed-note verifier key `<name>+<hex key ID>+<base64 key>`."""
    name, key_id, key = vkey.split("+", 2)
    raw = base64.b64decode(key, validate=True)
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise BadCheckpoint("the verifier key is not an Ed25519 key")
    public = raw[1:]
    if sha256(name.encode() + b"\n" + raw)[:4] != bytes.fromhex(key_id):
        raise BadCheckpoint("the verifier key's ID does not match its name and key")
    return name, bytes.fromhex(key_id), public


def signature_problems(note: str, vkey: str) -> list[str]:
    """Whether `note` carries a valid signature line by the key `vkey` (C2SP signed-note)."""
    name, key_id, public = parse_vkey(vkey)
    if "\n\n" not in note:
        return ["the checkpoint is not signed"]
    body, signatures = note.split("\n\n", 1)
    for line in signatures.splitlines():
        signer, _, encoded = line.removeprefix("— ").rpartition(" ")
        if not line.startswith("— ") or signer != name:
            continue
        raw = base64.b64decode(encoded)
        if raw[:4] != key_id:
            continue
        try:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        except ImportError:
            return ["cannot check the signature without the cryptography package (pip install cryptography)"]
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], (body + "\n").encode())
        except InvalidSignature:
            return [f"the signature of {name} does not match the checkpoint"]
        return []
    return [f"the checkpoint carries no signature of {name} (key ID {key_id.hex()})"]


def fingerprint(root: bytes) -> str:
    """What the paper notice prints for a person to compare: the root's first 8 bytes, 4 groups of 4."""
    text = root[:8].hex().upper()
    return " ".join(text[i : i + 4] for i in range(0, 16, 4))


# ---- the bundle ------------------------------------------------------------------------------------------


def _hashes(values) -> list[bytes]:
    return [base64.b64decode(v, validate=True) for v in values]


def check(bundle: dict) -> list[str]:
    """Everything wrong with a bundle; empty when it verifies."""
    if bundle.get("format") != BUNDLE_FORMAT:
        raise BadCheckpoint(f"not a notice bundle (format {bundle.get('format')!r})")
    origin, size, root = parse_checkpoint(bundle["checkpoint"])
    problems = []
    if not bundle.get("key"):
        problems.append("the bundle names no signing key")
    else:
        problems.extend(signature_problems(bundle["checkpoint"], bundle["key"]))
    countersigned = bundle.get("witness")
    if countersigned is not None:
        if countersigned["checkpoint"].split("\n\n", 1)[0] != bundle["checkpoint"].split("\n\n", 1)[0]:
            problems.append("the witness countersigned another checkpoint")
        problems.extend(
            f"witness: {p}" for p in signature_problems(countersigned["checkpoint"], countersigned["key"])
        )
    for line in bundle["lines"]:
        seq, text = line["seq"], line["leaf"]
        try:
            proof = _hashes(line["proof"])
        except (binascii.Error, TypeError):
            proof = None
        if proof is None or not verify_inclusion(seq - 1, size, leaf_hash(text.encode()), proof, root):
            problems.append(f"line #{seq} is not in the tree of {origin} at size {size}: {text}")
    previous = bundle.get("previous")
    if previous is not None:
        old_origin, old_size, old_root = parse_checkpoint(previous["checkpoint"])
        try:
            proof = _hashes(previous["consistency"])
        except (binascii.Error, TypeError):
            proof = None
        if bundle.get("key"):
            problems.extend(
                f"previous: {p}" for p in signature_problems(previous["checkpoint"], bundle["key"])
            )
        if old_origin != origin:
            problems.append(f"the previous checkpoint is of another log ({old_origin})")
        elif proof is None or not verify_consistency(old_size, size, old_root, root, proof):
            problems.append(
                f"the books at size {size} do not extend the previous notice's books at size {old_size}: "
                "the past was rewritten"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m lovemart.verify_notice bundle.json", file=sys.stderr)
        return 2
    try:
        with open(args[0], encoding="utf-8") as file:
            bundle = json.load(file)
        origin, size, root = parse_checkpoint(bundle["checkpoint"])
        problems = check(bundle)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"cannot read {args[0]} as a notice bundle: {error}", file=sys.stderr)
        return 2
    print(f"log     {origin}")
    print(f"size    {size} entries")
    print(f"校验码  {fingerprint(root)}   (compare with the paper notice)")
    if bundle.get("key"):
        name, key_id, _ = parse_vkey(bundle["key"])
        print(f"key     {name}, key ID {key_id.hex()}   (compare with the notice and the README)")
    if bundle.get("witness"):
        name, key_id, _ = parse_vkey(bundle["witness"]["key"])
        print(f"witness {name}, key ID {key_id.hex()}   (countersigned)")
    for problem in problems:
        print(f"FAILED  {problem}")
    if problems:
        return 1
    previous = "" if bundle.get("previous") is None else ", and extend the previous notice's books"
    print(f"OK      all {len(bundle['lines'])} lines are in the books of this checkpoint{previous}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
