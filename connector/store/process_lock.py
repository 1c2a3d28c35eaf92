"""One connector process per SQLite file, enforced rather than hoped for."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class AlreadyLocked(Exception):
    pass


class ProcessLock:
    """An exclusive `flock` on `<database>.lock`, held while the daemon runs.

    A separate file, because SQLite takes its own (POSIX) locks on the database file. The
    kernel drops the lock when the process dies, however it dies.
    """

    def __init__(self, database_file: Path) -> None:
        self.path = database_file.with_name(database_file.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyLocked(str(self.path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
