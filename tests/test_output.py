"""Batched atomic writes: temporaries first, then the renames, then one fsync a folder."""

from __future__ import annotations

import errno
import gc
import os
import re
from pathlib import Path

import pytest

from feedpub.errors import OutputError
from feedpub.output import SYNC_GROUP, TEMP_PREFIX, Batch
from tests.conftest import Site


def temporaries(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.name.startswith(TEMP_PREFIX)]


def test_a_batch_shows_nothing_until_commit_then_everything(tmp_path: Path) -> None:
    old = tmp_path / "a.xml"
    old.write_bytes(b"old")
    batch = Batch()
    assert batch.write_if_changed(old, b"new")
    assert batch.write_if_changed(tmp_path / "sub" / "b.xml", b"b")
    assert old.read_bytes() == b"old"
    assert not (tmp_path / "sub" / "b.xml").exists()
    batch.commit()
    assert old.read_bytes() == b"new"
    assert (tmp_path / "sub" / "b.xml").read_bytes() == b"b"
    assert temporaries(tmp_path) == []
    assert oct(old.stat().st_mode & 0o777) == "0o644"


def test_a_batch_does_not_write_unchanged_bytes(tmp_path: Path) -> None:
    same = tmp_path / "same.xml"
    same.write_bytes(b"same")
    before = same.stat()
    batch = Batch()
    assert not batch.write_if_changed(same, b"same")
    batch.commit()
    after = same.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_batch_commits_every_limit_files(tmp_path: Path) -> None:
    batch = Batch(limit=3)
    for number in range(7):
        batch.write_if_changed(tmp_path / f"{number}.xml", b"x")
    assert len(list(tmp_path.glob("*.xml"))) == 6  # two batches of three are in place
    batch.commit()
    assert len(list(tmp_path.glob("*.xml"))) == 7
    assert temporaries(tmp_path) == []


def test_a_failed_rename_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "1.xml", tmp_path / "2.xml"
    first.write_bytes(b"old 1")
    second.write_bytes(b"old 2")
    batch = Batch()
    batch.write_if_changed(first, b"new 1")
    batch.write_if_changed(second, b"new 2")
    real = os.replace

    def full(source: str, target: Path) -> None:
        if Path(target) == second:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(source, target)

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputError, match=f"^{second}: cannot write: No space left"):
        batch.commit()
    assert (first.read_bytes(), second.read_bytes()) == (b"new 1", b"old 2")
    assert temporaries(tmp_path) == []


def open_descriptors() -> int:
    gc.collect()  # a file object an earlier test dropped would close its descriptor mid-count
    return len(os.listdir("/proc/self/fd"))


def test_every_temporary_is_fsynced_before_any_is_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: set[int] = set()  # inodes
    replaced: list[bool] = []  # whether each renamed file was fsynced first
    most_open = 0
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        nonlocal most_open
        most_open = max(most_open, len(os.listdir("/proc/self/fd")))
        real_fsync(fd)
        synced.add(os.fstat(fd).st_ino)

    def replace(source: str, target: Path) -> None:
        replaced.append(os.stat(source).st_ino in synced)
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    before = open_descriptors()
    batch = Batch(limit=300)
    count = 3 * SYNC_GROUP + 5
    for number in range(count):
        batch.write_if_changed(tmp_path / f"{number}.xml", b"x" * number)
    batch.commit()
    assert replaced == [True] * count
    assert most_open <= before + SYNC_GROUP + 1  # descriptors held while waiting for a group
    assert open_descriptors() == before
    assert [(tmp_path / f"{n}.xml").read_bytes() for n in range(count)] == [
        b"x" * n for n in range(count)
    ]


def old_files(folder: Path, count: int) -> list[Path]:
    names = [folder / f"{number}.xml" for number in range(count)]
    for path in names:
        path.write_bytes(b"old")
    return names


def assert_nothing_changed(names: list[Path], descriptors: int) -> None:
    """The old files as they were, no temporary beside them, no descriptor left open."""
    assert [path.read_bytes() for path in names] == [b"old"] * len(names)
    assert temporaries(names[0].parent) == []
    assert open_descriptors() == descriptors


def test_a_failed_fsync_names_its_file_and_leaves_the_old_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = old_files(tmp_path, 10)
    monkeypatch.setattr(os, "fsync", FailingFsync(on_call=4, error=eio()))
    before = open_descriptors()
    batch = Batch()
    for path in names:
        batch.write_if_changed(path, b"new")
    with pytest.raises(OutputError, match="^" + re.escape(f"{names[3]}: {EIO}")):
        batch.commit()
    assert_nothing_changed(names, before)


def test_a_group_whose_fsync_fails_while_writing_leaves_the_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = old_files(tmp_path, SYNC_GROUP)
    monkeypatch.setattr(os, "fsync", FailingFsync(on_call=3, error=eio()))
    before = open_descriptors()
    batch = Batch()
    for path in names[:-1]:
        batch.write_if_changed(path, b"new")
    with pytest.raises(OutputError, match="^" + re.escape(f"{names[2]}: {EIO}")):
        batch.write_if_changed(names[-1], b"new")  # the group is full: it is fsynced now
    assert_nothing_changed(names, before)


def test_an_interrupted_fsync_renames_nothing_then_or_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = old_files(tmp_path, 5)
    monkeypatch.setattr(os, "fsync", FailingFsync(on_call=2, error=KeyboardInterrupt()))
    before = open_descriptors()
    batch = Batch()
    for path in names:
        batch.write_if_changed(path, b"new")
    with pytest.raises(KeyboardInterrupt):
        batch.commit()
    batch.commit()  # whatever was written before the interrupt is not renamed now
    assert_nothing_changed(names, before)


EIO = f"cannot write: {os.strerror(errno.EIO)}"


def eio() -> OSError:
    return OSError(errno.EIO, os.strerror(errno.EIO))


class FailingFsync:
    """os.fsync that raises `error` on its `on_call`-th call, and works on the others."""

    def __init__(self, *, on_call: int, error: BaseException) -> None:
        self.calls = 0
        self.on_call = on_call
        self.error = error
        self.real = os.fsync

    def __call__(self, fd: int) -> None:
        self.calls += 1
        if self.calls == self.on_call:
            raise self.error
        self.real(fd)


def test_a_file_written_twice_leaves_one_temporary_until_commit(tmp_path: Path) -> None:
    before = open_descriptors()
    batch = Batch()
    path = tmp_path / "a.xml"
    batch.write_if_changed(path, b"first")
    batch.write_if_changed(path, b"second")
    assert len(temporaries(tmp_path)) == 1
    assert open_descriptors() == before + 1  # the second one's, until its fsync
    batch.commit()
    assert path.read_bytes() == b"second"
    assert temporaries(tmp_path) == []
    assert open_descriptors() == before


def test_a_failed_write_leaves_no_temporary_of_the_batch(tmp_path: Path) -> None:
    names = old_files(tmp_path, 3)
    (tmp_path / "file").write_bytes(b"not a folder")
    before = open_descriptors()
    batch = Batch()
    for path in names:
        batch.write_if_changed(path, b"new")
    with pytest.raises(OutputError, match="^" + re.escape(f"{tmp_path}/file/b.xml: cannot write")):
        batch.write_if_changed(tmp_path / "file" / "b.xml", b"new")
    assert_nothing_changed(names, before)


def test_abort_removes_the_temporaries_and_keeps_the_old_files(tmp_path: Path) -> None:
    old = tmp_path / "a.xml"
    old.write_bytes(b"old")
    batch = Batch()
    batch.write_if_changed(old, b"new")
    batch.abort()
    batch.commit()
    assert old.read_bytes() == b"old"
    assert temporaries(tmp_path) == []


def test_temporaries_are_left_alone_when_no_run_was_cut_short(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    site.build()
    other = site.feeds / ".feedpub-someone-elses.tmp"  # a run of this publisher is writing it?
    other.write_bytes(b"...")
    site.build()  # no .publisher/publishing: no run was killed while writing
    assert other.exists()
    assert not (site.root / ".publisher" / "publishing").exists()
