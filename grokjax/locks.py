"""The folder lock of a results folder: one writer at a time, released by the kernel if it dies.

``folder_lock`` is an flock on ``.lock`` (or a shard's ``.lock-sIofN``); ``held_locks`` tells
which shard locks a live process holds (``python -m grokjax status``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from grokjax.store import ResultsError, ensure_folder

__all__ = ["folder_lock", "held_locks"]


@contextlib.contextmanager
def folder_lock(results_dir: Path, name: str = ".lock", wait_s: float = 0.0) -> Iterator[None]:
    """Exclusive lock on a results folder; a second writer gets a clear error at once (or
    after ``wait_s`` seconds of retrying: shards take the shared lock only briefly).

    flock is released by the kernel when the holder dies, so a killed sweep never leaves a
    stale lock behind (its file stays, unlocked; the next writer takes it).  A clean release
    removes the file: the holder unlinks it while still holding the lock, and a writer that
    was waiting on the unlinked file sees that its inode is gone and opens the new one.
    """
    ensure_folder(Path(results_dir), "the lock file")
    path = Path(results_dir) / name
    deadline = time.monotonic() + wait_s
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            os.close(fd)
            if time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise ResultsError(f"{results_dir}: another sweep is writing this folder "
                               f"({holder or 'pid unknown'}); wait for it or use another "
                               "--out folder") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed it as we locked it: lock the current file
    try:
        with contextlib.suppress(OSError):  # who holds it is for the message; a full disk
            os.ftruncate(fd, 0)  # fails the first real write with a clear error instead
            os.pwrite(fd, f"pid {os.getpid()} on {os.uname().nodename}".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def held_locks(results_dir: Path, pattern: str) -> list[str]:
    """Names of the lock files matching ``pattern`` that a live process holds now."""
    held = []
    for path in sorted(Path(results_dir).glob(pattern)):
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:  # released (and removed) since the glob
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.append(path.name)
        finally:
            os.close(fd)
    return held
