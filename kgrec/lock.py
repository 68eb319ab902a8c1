"""One writer per output directory: a lock file that a crashed writer does not leave stuck.

``kgrec run`` (and ``--resume``), ``kgrec study`` and ``kgrec tune`` each claim their output
directory before writing anything in it. The lock is a file holding the owner's pid and
host, created atomically (written under a temporary name, then hard-linked into place, so a
reader never sees a half-written one). A second writer is refused with a one-line error. A
lock whose process is gone (same host, pid not alive) is stale and is taken over.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from kgrec.errors import KgrecError

LOCK_NAME = ".lock"


class DirectoryLock:
    """``with DirectoryLock(run_dir, "kgrec run"):`` claims ``run_dir`` for this process."""

    def __init__(self, directory: Path, what: str):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self.what = what
        self.held = False

    def __enter__(self) -> "DirectoryLock":
        self.directory.mkdir(parents=True, exist_ok=True)
        me = f"{os.getpid()} {socket.gethostname()}"
        tmp = self.directory / f".lock.tmp-{os.getpid()}"
        tmp.write_text(me)
        try:
            for _ in range(5):
                try:
                    os.link(tmp, self.path)  # atomic: fails if a lock exists
                except FileExistsError:
                    owner = self._owner()
                    if owner is not None and owner != me and _alive(owner):
                        pid, host = owner.split(" ", 1)
                        raise KgrecError(f"{self.directory} is being written by another "
                                         f"{self.what} (process {pid} on {host}); wait for it or "
                                         "choose another output directory") from None
                    self._take_over_stale(owner)
                    continue
                if self._owner() == me:
                    self.held = True
                    return self
            raise KgrecError(f"{self.path}: could not take the lock (another process keeps "
                             "replacing it)")
        finally:
            tmp.unlink(missing_ok=True)

    def __exit__(self, *exc: Any) -> None:
        if self.held and self._owner() == f"{os.getpid()} {socket.gethostname()}":
            self.path.unlink(missing_ok=True)
        self.held = False

    def _owner(self) -> str | None:
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return text if " " in text and text.split(" ", 1)[0].isdigit() else None

    def _take_over_stale(self, owner: str | None) -> None:
        """Remove the stale lock that was read, and only that one: move it aside, and if what
        was moved is not it (a fresh lock replaced it meanwhile), put that one back."""
        grave = self.directory / f".lock.stale-{os.getpid()}"
        try:
            os.rename(self.path, grave)
        except FileNotFoundError:
            return
        try:
            moved = grave.read_text().strip()
            if owner is not None and moved != owner:
                try:
                    os.link(grave, self.path)
                except FileExistsError:
                    pass
        finally:
            grave.unlink(missing_ok=True)


def _alive(owner: str) -> bool:
    """Whether the lock's process still runs (another host's is assumed alive)."""
    pid, host = owner.split(" ", 1)
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
