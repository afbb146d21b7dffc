"""Where the files live that every app server must read: photos and roster uploads (see
lovemart/models/files.py). Two stores behind one small interface, chosen by `FILE_STORAGE`:

- "database": a row of `stored_files` per file, so every server on the same PostgreSQL reads what any of
  them wrote, and a database backup holds the photos too. The default on PostgreSQL.
- "directory": files under the instance folder (`<folder>/<village id>/<name><suffix>`), for the single
  machine on SQLite (the default there: the SQLite file and its online backups stay small) or a folder that
  every server mounts.

A store serves one kind of file. Callers check names (`lovemart.services.photos`, the web layer's roster
uploads); the directory store refuses anything but a plain name besides, so no name escapes its folder.
"""

import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lovemart.models import StoredFile

DATABASE = "database"
DIRECTORY = "directory"
STORAGES = (DATABASE, DIRECTORY)
#: kind → (folder under the instance folder, suffix of the file name) for the directory store
KINDS = {"photo": ("photos", ".jpg"), "roster": ("uploads", ".json")}
_PLAIN_NAME = re.compile(r"[0-9A-Za-z]{1,48}(\.[a-z]{1,8})?")


class FileStore(Protocol):
    def put(self, village_id: int, name: str, data: bytes) -> None: ...

    def get(self, village_id: int, name: str) -> bytes | None: ...

    def delete(self, village_id: int, name: str) -> None: ...

    def purge(self, older_than: datetime) -> int:
        """Remove every file stored before `older_than`; returns how many."""

    def files(self) -> Iterator[tuple[int, str, bytes]]:
        """Every stored file as (village id, name, bytes), for copying one store into another."""


@dataclass(frozen=True)
class DatabaseStore:
    session: Session
    kind: str

    def put(self, village_id: int, name: str, data: bytes) -> None:
        self.session.add(
            StoredFile(kind=self.kind, village_id=village_id, name=name, size=len(data), content=data)
        )
        self.session.flush()

    def get(self, village_id: int, name: str) -> bytes | None:
        return self.session.scalar(select(StoredFile.content).where(*self._file(village_id, name)))

    def delete(self, village_id: int, name: str) -> None:
        self.session.execute(delete(StoredFile).where(*self._file(village_id, name)))

    def purge(self, older_than: datetime) -> int:
        return self.session.execute(
            delete(StoredFile).where(StoredFile.kind == self.kind, StoredFile.created_at < older_than)
        ).rowcount

    def files(self) -> Iterator[tuple[int, str, bytes]]:
        rows = self.session.execute(
            select(StoredFile.village_id, StoredFile.name, StoredFile.content)
            .where(StoredFile.kind == self.kind)
            .order_by(StoredFile.id)
        )
        yield from (tuple(row) for row in rows)

    def _file(self, village_id: int, name: str) -> tuple:
        return (StoredFile.kind == self.kind, StoredFile.village_id == village_id, StoredFile.name == name)


@dataclass(frozen=True)
class DirectoryStore:
    folder: Path
    suffix: str = ""

    def put(self, village_id: int, name: str, data: bytes) -> None:
        target = self._path(village_id, name)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # mkstemp makes the file 0600
        # written beside and renamed into place: another server or worker never reads half a file
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise

    def get(self, village_id: int, name: str) -> bytes | None:
        path = self._path(village_id, name)
        return path.read_bytes() if path.is_file() else None

    def delete(self, village_id: int, name: str) -> None:
        self._path(village_id, name).unlink(missing_ok=True)

    def purge(self, older_than: datetime) -> int:
        cutoff, removed = older_than.timestamp(), 0
        for path in self._stored():
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def files(self) -> Iterator[tuple[int, str, bytes]]:
        for path in sorted(self._stored()):
            yield int(path.parent.name), path.name.removesuffix(self.suffix), path.read_bytes()

    def _stored(self) -> Iterator[Path]:
        if self.folder.is_dir():
            yield from (
                path
                for path in self.folder.glob(f"*/*{self.suffix}")
                if path.parent.name.isdigit() and not path.name.startswith(".")
            )

    def _path(self, village_id: int, name: str) -> Path:
        if not _PLAIN_NAME.fullmatch(name):
            raise ValueError(f"not a plain file name: {name!r}")
        return self.folder / str(int(village_id)) / f"{name}{self.suffix}"


def open_store(storage: str, kind: str, *, session: Session, instance: Path) -> FileStore:
    """The store `storage` ("database" or "directory") of files of `kind` ("photo" or "roster")."""
    if storage == DATABASE:
        return DatabaseStore(session, kind)
    if storage == DIRECTORY:
        folder, suffix = KINDS[kind]
        return DirectoryStore(instance / folder, suffix)
    raise ValueError(f"FILE_STORAGE must be one of {', '.join(STORAGES)}, not {storage!r}")


def copy_all(source: FileStore, target: FileStore) -> int:
    """Copy every file of `source` that `target` lacks (run again, it copies nothing); returns how many."""
    copied = 0
    for village_id, name, data in source.files():
        if target.get(village_id, name) is None:
            target.put(village_id, name, data)
            copied += 1
    return copied
