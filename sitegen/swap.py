"""Atomic publishing of a built site folder.

A build writes into ``.NAME.building-PID-XXXX`` beside the target folder and is swapped in only
when complete. On Linux the swap is one ``renameat2(RENAME_EXCHANGE)`` call, so the target
path always holds a complete site; elsewhere it is two renames, and a build interrupted
between them is put back by ``recover`` at the start of the next build.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class BuildLocked(RuntimeError):
    pass


def staging_dir(target: Path) -> Path:
    # Unique per build: a previous build's old copy may still be being removed.
    return target.parent / f".{target.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _old_dir(target: Path) -> Path:
    return target.parent / f".{target.name}.old-{os.getpid()}"


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where that is not available."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    result = renameat2(_AT_FDCWD, bytes(a), _AT_FDCWD, bytes(b), _RENAME_EXCHANGE)
    return result == 0


def swap_in(new: Path, target: Path) -> Path | None:
    """Make ``new`` the content of ``target``. Returns the folder now holding the previous
    content, for the caller to remove (``remove_later``), or None."""
    if not target.exists():
        new.rename(target)
        return None
    if _exchange(new, target):
        return new  # now holds the previous site
    old = _old_dir(target)
    target.rename(old)
    new.rename(target)
    return old


def remove_later(folder: Path | None) -> threading.Thread | None:
    """Remove a previous site in a background thread: the new one is already serving, and
    deleting tens of thousands of files takes seconds. The thread is not a daemon, so the
    process finishes it before exiting; a build that starts meanwhile cleans up too."""
    if folder is None:
        return None
    thread = threading.Thread(
        target=shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True}, name="site-cleanup"
    )
    thread.start()
    return thread


def recover(target: Path) -> None:
    """Clean up after interrupted builds: drop unfinished staging folders, and put back a
    previous site that an interrupted two-rename swap had moved aside."""
    for leftover in target.parent.glob(f".{target.name}.building-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    olds = sorted(target.parent.glob(f".{target.name}.old-*"))
    if olds and not target.exists():
        olds.pop().rename(target)
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def build_lock(target: Path) -> Iterator[None]:
    """One build of a folder at a time."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".{target.name}.lock"
    with lock_path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLocked(
                f"another build of {target} is running; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
