"""The deployment's Ed25519 keys for C2SP signed notes: the one that signs every notice's checkpoint, and the
county witness's, which countersigns the checkpoints it accepted.

Each is created on first use in the instance folder (PKCS#8 PEM, mode 0600, never overwritten) and named
(`NOTICE_KEY_NAME`, `WITNESS_KEY_NAME` in the config). A signature line is `— <name> <base64(key ID ||
signature)>`, the key ID being the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key); the
verifier key (`vkey`, `<name>+<key ID hex>+<base64(0x01 || public key)>`) is what the README, every notice
and the villager pages print, so that a reader can tell the deployment's key from another.
"""

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app

ED25519 = b"\x01"
NOTICE_KEY_FILE = "notice_signing_key.pem"
WITNESS_KEY_FILE = "witness_signing_key.pem"


@dataclass(frozen=True)
class NoteKey:
    name: str
    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.name.encode() + b"\n" + ED25519 + self.public_raw).digest()[:4]

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(ED25519 + self.public_raw).decode()}"

    def signature_line(self, body: str) -> str:
        signature = self.private.sign(body.encode())
        return f"— {self.name} {base64.b64encode(self.key_id + signature).decode()}\n"


def load_or_create(path: Path, name: str) -> NoteKey:
    """The key in `path`, created there (0600, exclusively: two workers cannot both create it) if missing."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 key") from None
        return NoteKey(name, private)
    private = Ed25519PrivateKey.generate()
    with os.fdopen(fd, "wb") as file:
        file.write(
            private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return NoteKey(name, private)


def _instance_key(file: str, name_setting: str, default_name: str) -> NoteKey:
    folder = Path(current_app.instance_path)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return load_or_create(folder / file, current_app.config.get(name_setting, default_name))


def notice_key() -> NoteKey:
    """The key that signs the notices' checkpoints (the running app's instance folder)."""
    return _instance_key(NOTICE_KEY_FILE, "NOTICE_KEY_NAME", "lovemart-notices")


def witness_key() -> NoteKey:
    return _instance_key(WITNESS_KEY_FILE, "WITNESS_KEY_NAME", "lovemart-county-witness")
