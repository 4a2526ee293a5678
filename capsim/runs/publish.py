"""Outputs published whole: staged beside their destination, then renamed into place.

Every output capsim writes (documents, decision files, fitted fragments, exported queues,
study tables, comparison and fit directories) goes through these helpers, so a reader never
sees half a file and a failed write never loses the earlier output. A file is written under a
hidden temporary name in its own folder (a rename within one file system is atomic); a
directory is staged as a hidden sibling and swapped in, the earlier one put back if the swap
fails. Run directories, which also resume, keep their own writer (``store.RunWriter``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from capsim.errors import OutputError

#: Writes one file's content to the path it is given (a temporary name beside the output).
Writer = Callable[[Path], object]


def _new_file_mode() -> int:
    """The mode an ordinary new file gets under the current umask (not a temp file's 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def publish_files(directory: Path, writers: Sequence[tuple[str, Writer]]) -> list[Path]:
    """Write each named file under a temporary name, then rename them all into place.

    A failure leaves no temporary file and replaces no earlier file. A replaced file keeps its
    mode; a new one gets the ordinary mode of a new file. Returns the final paths in order.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for name, write in writers:
            final = directory / name
            handle, name_given = tempfile.mkstemp(prefix=f".{final.name}.", dir=directory)
            os.close(handle)
            temporary = Path(name_given)
            staged.append((temporary, final))
            write(temporary)
            mode = final.stat().st_mode & 0o777 if final.is_file() else _new_file_mode()
            os.chmod(temporary, mode)
    except BaseException:
        for leftover, _ in staged:
            leftover.unlink(missing_ok=True)
        raise
    for written, final in staged:
        os.replace(written, final)
    return [final for _, final in staged]


def publish_file(path: Path, write: Writer) -> Path:
    """``write`` one file to a temporary name beside ``path``, then rename it over ``path``.

    An OSError (disk full, no permission) becomes an OutputError naming ``path``.
    """
    folder = path.parent if str(path.parent) else Path()
    try:
        return publish_files(folder, [(path.name, write)])[0]
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def staging_sibling(output: Path) -> Path:
    """The hidden sibling a directory output is staged in: ``.<name>.partial``."""
    return output.with_name(f".{output.name}.partial")


def publish_directory(staging: Path, output: Path) -> None:
    """Move a complete ``staging`` directory to ``output``, replacing an earlier one whole.

    The earlier output is moved aside first and removed only once the new one is in place; if
    the swap fails, it is put back before the error is raised.
    """
    if not output.exists():
        os.replace(staging, output)
        return
    old = output.with_name(f".{output.name}.{os.getpid()}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(output, old)
    try:
        os.replace(staging, output)
    except OSError:
        os.replace(old, output)
        raise
    shutil.rmtree(old, ignore_errors=True)
