"""The standalone verifier (lovemart/verify_notice.py) as someone who downloaded a bundle runs it: a copy of
the one file, alone in a directory, under `python -I` (no LoveMart, no site-packages) verifies a good
bundle, names a tampered line or a rewritten past, and refuses what is not a bundle."""

import ast
import base64
import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lovemart import verify_notice
from lovemart.notekey import NoteKey
from lovemart.services import merkle
from tests.services.test_merkle import RFC_LEAVES, Tree

VERIFIER = Path(verify_notice.__file__)


KEY = NoteKey("lovemart-test", Ed25519PrivateKey.generate())


def checkpoint(size: int, tree: Tree, key: NoteKey = KEY) -> str:
    root = merkle.root(size, tree.read)
    body = f"lovemart/test/a\n{size}\n{base64.b64encode(root).decode()}\n"
    return body + "\n" + key.signature_line(body)


@pytest.fixture
def bundle():
    """A notice over the tree of 7 RFC leaves (as text), listing leaves 3..7; the previous one at size 3."""
    texts = [leaf.hex() for leaf in RFC_LEAVES[:7]]
    tree = Tree([t.encode() for t in texts])
    lines = [
        {
            "seq": seq,
            "household": "0101",
            "leaf": texts[seq - 1],
            "proof": [base64.b64encode(h).decode() for h in merkle.inclusion_proof(seq - 1, 7, tree.read)],
        }
        for seq in range(3, 8)
    ]
    consistency = [base64.b64encode(h).decode() for h in merkle.consistency_proof(3, 7, tree.read)]
    return {
        "format": verify_notice.BUNDLE_FORMAT,
        "checkpoint": checkpoint(7, tree),
        "key": KEY.vkey,
        "lines": lines,
        "previous": {"checkpoint": checkpoint(3, tree), "consistency": consistency},
    }


def run(tmp_path, bundle) -> subprocess.CompletedProcess:
    alone = tmp_path / "alone"
    alone.mkdir(exist_ok=True)
    shutil.copy(VERIFIER, alone / "verify_notice.py")
    (alone / "bundle.json").write_text(json.dumps(bundle) if isinstance(bundle, dict) else bundle)
    return subprocess.run(  # noqa: S603 - our own interpreter on our own file
        [sys.executable, "-I", "verify_notice.py", "bundle.json"], cwd=alone, capture_output=True, text=True
    )


def test_it_imports_only_the_standard_library():
    tree = ast.parse(VERIFIER.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= sys.stdlib_module_names | {"cryptography"}


def test_a_good_bundle_verifies_and_prints_the_fingerprint(tmp_path, bundle):
    result = run(tmp_path, bundle)
    assert result.returncode == 0, result.stdout + result.stderr
    _, _, root = verify_notice.parse_checkpoint(bundle["checkpoint"])
    assert verify_notice.fingerprint(root) in result.stdout
    assert f"key     lovemart-test, key ID {KEY.key_id.hex()}" in result.stdout
    assert "OK      all 5 lines are in the books of this checkpoint, and extend the previous" in result.stdout


def test_a_tampered_line_fails_and_is_named(tmp_path, bundle):
    bundle["lines"][2]["leaf"] = bundle["lines"][2]["leaf"] + "00"
    result = run(tmp_path, bundle)
    assert result.returncode == 1
    assert "FAILED  line #5 is not in the tree of lovemart/test/a at size 7" in result.stdout


def test_a_rewritten_past_fails_the_consistency_proof(tmp_path, bundle):
    forged = Tree([b"forged", *(leaf.hex().encode() for leaf in RFC_LEAVES[1:3])])
    bundle["previous"]["checkpoint"] = checkpoint(3, forged)
    result = run(tmp_path, bundle)
    assert result.returncode == 1 and "the past was rewritten" in result.stdout


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b["lines"][0]["proof"].pop(),
        lambda b: b["lines"][0]["proof"].append(b["lines"][0]["proof"][0]),
        lambda b: b["lines"][0].__setitem__("seq", 4),
        lambda b: b["lines"][0]["proof"].__setitem__(0, "!!!"),
        lambda b: b["previous"]["consistency"].pop(),
        lambda b: b.__setitem__("checkpoint", b["checkpoint"].replace("\n7\n", "\n6\n")),
        lambda b: b.__setitem__("checkpoint", b["checkpoint"].split("\n\n")[0] + "\n"),
        lambda b: b.__setitem__("key", NoteKey("lovemart-test", Ed25519PrivateKey.generate()).vkey),
        lambda b: b.pop("key"),
    ],
    ids=[
        "short proof",
        "long proof",
        "wrong position",
        "not base64",
        "short consistency",
        "wrong size",
        "unsigned",
        "another key",
        "no key",
    ],
)
def test_every_damaged_proof_fails(bundle, damage):
    damaged = copy.deepcopy(bundle)
    damage(damaged)
    assert verify_notice.check(bundle) == []
    assert verify_notice.check(damaged) != []


@pytest.mark.parametrize(
    "note",
    [
        "",
        "origin\n7\n",
        "origin\n07\nAAAA\n",
        "origin\nseven\nAAAA\n",
        "origin\n7\nnot base64\n",
        "o\n7\nAAAA\n",
    ],
)
def test_a_malformed_checkpoint_is_refused(note):
    with pytest.raises(verify_notice.BadCheckpoint):
        verify_notice.parse_checkpoint(note)


def test_a_signed_note_reads_its_body():
    body = "lovemart/test/a\n1\n" + base64.b64encode(bytes(32)).decode() + "\n"
    signed = body + "\n— lovemart-test AAAA\n"
    assert verify_notice.parse_checkpoint(signed) == ("lovemart/test/a", 1, bytes(32))


def test_what_is_not_a_bundle_exits_2(tmp_path, bundle):
    assert run(tmp_path, "not json").returncode == 2
    assert run(tmp_path, {**bundle, "format": "other"}).returncode == 2
    result = run(tmp_path, {"format": verify_notice.BUNDLE_FORMAT})
    assert result.returncode == 2 and "cannot read" in result.stderr
