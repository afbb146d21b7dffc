"""The two file stores behind one interface: a file is found in its village and kind only; purge removes
only the old; copying a directory into the database is complete and can be repeated."""

from datetime import timedelta

import pytest

from lovemart.db import unit_of_work, utcnow
from lovemart.services.filestore import DatabaseStore, DirectoryStore, copy_all, open_store
from tests.factories import make_village


@pytest.fixture(params=["database", "directory"])
def store_of(request, session, tmp_path):
    """`store_of(kind)` → the store of that kind, reading and writing through the test's session."""

    def make(kind="photo"):
        return open_store(request.param, kind, session=session, instance=tmp_path)

    return make


def test_a_file_is_found_in_its_village_and_kind_only(session, store_of):
    a, b = make_village("a"), make_village("b")
    with unit_of_work():
        store_of().put(a, "f" * 32, b"jpeg bytes")
    assert store_of().get(a, "f" * 32) == b"jpeg bytes"
    assert store_of().get(b, "f" * 32) is None  # another village
    assert store_of("roster").get(a, "f" * 32) is None  # another kind
    assert [(v, n) for v, n, _ in store_of().files()] == [(a, "f" * 32)]
    with unit_of_work():
        store_of().delete(a, "f" * 32)
    assert store_of().get(a, "f" * 32) is None


def test_purge_removes_only_what_is_older(session, store_of):
    village = make_village("a")
    with unit_of_work():
        store_of("roster").put(village, "a" * 32 + ".csv", b"x")
    with unit_of_work():
        assert store_of("roster").purge(utcnow() - timedelta(hours=1)) == 0
    with unit_of_work():
        assert store_of("roster").purge(utcnow() + timedelta(seconds=1)) == 1
    assert store_of("roster").get(village, "a" * 32 + ".csv") is None


def test_the_directory_store_refuses_names_that_leave_its_folder(tmp_path):
    store = DirectoryStore(tmp_path / "photos", ".jpg")
    for name in ("../secret_key", "a/b", "", "x" * 49, "a.b.c"):
        with pytest.raises(ValueError):
            store.put(1, name, b"x")
    assert not (tmp_path / "photos").exists()


def test_copying_a_folder_into_the_database_copies_each_file_once(session, tmp_path):
    a, b = make_village("a"), make_village("b")
    folder = DirectoryStore(tmp_path / "photos", ".jpg")
    folder.put(a, "1" * 32, b"one")
    folder.put(b, "2" * 32, b"two")
    with unit_of_work():
        assert copy_all(folder, DatabaseStore(session, "photo")) == 2
    with unit_of_work():
        assert copy_all(folder, DatabaseStore(session, "photo")) == 0
    found = sorted(DatabaseStore(session, "photo").files())
    assert found == [(a, "1" * 32, b"one"), (b, "2" * 32, b"two")]
