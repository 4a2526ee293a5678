"""Locks on run and output directories: one writer at a time, the holder named when refused.

Every writer (run, resume, report, compare, experiment) takes an exclusive ``flock`` on
``.<name>.lock`` beside the directory it writes, and keeps it until it is done; readers of a
finished run take it shared. A refused process names the holder's PID.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from capsim.errors import OutputError

#: Attempts at opening a lock file that another process is removing at the same moment.
LOCK_ATTEMPTS = 50


def current_directory() -> Path:
    """The working directory; a clear error if it was deleted, since relative paths then fail."""
    try:
        return Path(os.getcwd())
    except FileNotFoundError:
        raise OutputError(
            "the current directory no longer exists (it was deleted or moved); change to an "
            "existing directory and run the command again"
        ) from None


def absolute(path: Path) -> Path:
    """``path`` made absolute with ``.`` and ``..`` folded, symlinks left as they are."""
    return Path(os.path.normpath(current_directory() / path))


#: A refused process reads the holder's PID up to this many more times, this far apart: the
#: holder writes it just after taking the lock, so a refusal in between would name nobody.
HOLDER_READS = 40
HOLDER_READ_PAUSE_SECONDS = 0.005


def lock_file(destination: Path) -> Path:
    """The lock file of a run or output directory: ``<parent>/.<name>.lock``."""
    target = absolute(destination)
    if not target.name:
        raise OutputError(f"{destination} cannot be an output directory (it is a root)")
    return target.parent.resolve() / f".{target.name}.lock"


class RunLock:
    """An ``flock`` on a directory's lock file: exclusive for writers, shared for readers.

    The holder's PID is written into the file so that a refused process can name it. The lock
    file is removed on release by whoever can take it exclusively; a process that opened the
    file just before it was removed notices (the path no longer names its file) and retries.
    """

    def __init__(self, path: Path | None, descriptor: int | None, shared: bool) -> None:
        self.path = path
        self._descriptor = descriptor
        self.shared = shared

    def release(self) -> None:
        """Give the lock up and remove its file (when no other holder remains); safe twice."""
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is None or self.path is None:
            return
        try:
            exclusive = not self.shared or _flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if exclusive and _names_file(self.path, descriptor):
                self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a lock file left behind is harmless: nobody holds it
        finally:
            os.close(descriptor)

    def __enter__(self) -> RunLock:
        """Use as ``with lock_run_dir(path):``."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Release on leaving the block, whatever happened in it."""
        self.release()


def _flock(descriptor: int, operation: int) -> bool:
    """``flock`` that answers False instead of raising when another process holds the lock."""
    try:
        fcntl.flock(descriptor, operation)
    except BlockingIOError:
        return False
    return True


def _names_file(path: Path, descriptor: int) -> bool:
    """True when ``path`` still names the open file ``descriptor`` (it was not removed)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)


def _holder(descriptor: int) -> str:
    """The PID recorded in a lock file, as text for a message ('' when none is recorded)."""
    try:
        text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def try_lock_run_dir(
    destination: Path, *, shared: bool = False, create_parent: bool = True
) -> RunLock | None:
    """Take the lock of ``destination`` at once, or None if another process holds it."""
    lock, _ = _attempt_lock(destination, shared, create_parent)
    return lock


def lock_run_dir(destination: Path, *, shared: bool = False, create_parent: bool = True) -> RunLock:
    """Take the lock of ``destination`` at once, or refuse (exit 3) naming the holder's PID.

    Writers take it exclusively, readers shared. ``create_parent`` makes the parent folder
    first (a new run's ``results/``). A reader of a folder it may not write still reads it.
    """
    lock, holder = _attempt_lock(destination, shared, create_parent)
    if lock is None:
        who = f"another capsim process (PID {holder})" if holder else "another capsim process"
        raise OutputError(
            f"{destination} is in use by {who}; wait for it to finish (or stop it) and try "
            "again. Nothing was changed"
        )
    return lock


def _attempt_lock(
    destination: Path, shared: bool, create_parent: bool
) -> tuple[RunLock | None, str]:
    """One non-blocking try at the lock; (the lock, '') or (None, the holder's PID)."""
    path = lock_file(destination)
    try:
        if create_parent:
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot write results under {destination.parent}: {exc.strerror or exc}"
        ) from exc
    for _ in range(LOCK_ATTEMPTS):
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if shared and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return RunLock(None, None, shared=True), ""  # nobody can write there either
            raise OutputError(
                f"cannot write results under {destination.parent}: {exc.strerror or exc}"
            ) from exc
        operation = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        if not _flock(descriptor, operation):
            holder = _holder(descriptor)
            for _ in range(HOLDER_READS):  # the holder writes its PID just after locking
                if holder:
                    break
                time.sleep(HOLDER_READ_PAUSE_SECONDS)
                holder = _holder(descriptor)
            os.close(descriptor)
            return None, holder
        if not _names_file(path, descriptor):
            os.close(descriptor)  # its holder removed it as we opened it: take the new one
            continue
        try:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass  # the PID only makes a refusal more helpful
        return RunLock(path, descriptor, shared), ""
    raise OutputError(f"cannot lock {destination}: its lock file keeps changing")
