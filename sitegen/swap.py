"""Atomic publishing of a built site folder.

A build writes into ``.NAME.building-PID`` beside the target folder and is swapped in only
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
from collections.abc import Iterator
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class BuildLocked(RuntimeError):
    pass


def staging_dir(target: Path) -> Path:
    return target.parent / f".{target.name}.building-{os.getpid()}"


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


def swap_in(new: Path, target: Path) -> None:
    """Make ``new`` the content of ``target``; the previous content is removed."""
    if not target.exists():
        new.rename(target)
        return
    if _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # now holds the previous site
        return
    old = _old_dir(target)
    target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


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
