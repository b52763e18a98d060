"""Reading a file the lab is handed, bounded: only a regular file, at most a limit, never waiting.

Every reader of a path from a person or the environment goes through here: a FIFO with no writer, a
device (/dev/zero, a symlink to it), a folder, a socket, a sparse 5 GB file or a file that grows while
it is read are refused with one line naming the path, instead of hanging or filling memory.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Iterator, Optional, Union

PathLike = Union[str, os.PathLike]
CHUNK = 1 << 20

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class FileRefused(OSError):
    """A path that is not a regular file, or is larger than its reader's limit: the message says which."""


def describe(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def size_text(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def open_regular(path: PathLike) -> int:
    """A read-only descriptor of path if it is a regular file (symlinks followed), else FileRefused.

    O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting for one.
    FileNotFoundError and PermissionError pass through as they are.
    """
    mode = os.stat(path).st_mode  # first by name: a device is never even opened (a tty, a watchdog)
    if not stat.S_ISREG(mode):
        raise FileRefused(f"{path}: refused, it is {describe(mode)}, not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        if e.errno == errno.ENXIO:  # swapped for a socket since the stat
            raise FileRefused(f"{path}: refused, it is a socket, not a regular file") from None
        raise
    try:
        mode = os.fstat(fd).st_mode  # and again on the handle: it may have been swapped meanwhile
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise FileRefused(f"{path}: refused, it is {describe(mode)}, not a regular file")
    return fd


def chunks(fd: int, most: int) -> Iterator[bytes]:
    """What an open file holds from its position on, in chunks, `most` bytes at the very most."""
    n = 0
    while n < most:
        chunk = os.read(fd, min(CHUNK, most - n))
        if not chunk:
            return
        n += len(chunk)
        yield chunk


def read_bounded(path: PathLike, limit: int) -> bytes:
    """The whole file, if it is a regular file of at most `limit` bytes; else FileRefused.

    At most limit + 1 bytes are ever read from the open handle, so a file whose size lies (it grows
    while read, or a special file that calls itself empty) is refused all the same.
    """
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise FileRefused(f"{path}: too big, {size_text(size)} (at most {size_text(limit)})")
        data = b"".join(chunks(fd, limit + 1))
        if len(data) > limit:
            raise FileRefused(f"{path}: too big, it grew past {size_text(limit)} while being read")
        return data
    finally:
        os.close(fd)


def read_tail(path: PathLike, most: int) -> tuple[bytes, bool]:
    """(the last `most` bytes of a regular file, whether that is the whole file); open_regular's errors."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        os.lseek(fd, max(0, size - most), os.SEEK_SET)
        return os.read(fd, most), size <= most
    finally:
        os.close(fd)


def read_text_bounded(path: PathLike, limit: int) -> str:
    return read_bounded(path, limit).decode("utf-8", errors="replace")


def not_a_file(path: PathLike) -> Optional[str]:
    """What is at path instead of a regular file ("a FIFO (named pipe)", "a device", ...), or None
    when nothing is there or it is a regular file (a writer may append to it or replace it)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    return None if stat.S_ISREG(mode) else describe(mode)


def not_a_folder(path: PathLike) -> Optional[str]:
    """What is at path instead of a folder ("a file", "a FIFO (named pipe)", ...), or None when
    nothing is there yet or it is a folder."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(mode):
        return None
    return "a file" if stat.S_ISREG(mode) else describe(mode)


def check_folder(path: PathLike, what: str) -> Path:
    """path, if it is a folder or does not exist yet; else FileRefused naming what it is."""
    kind = not_a_folder(path)
    if kind:
        raise FileRefused(f"{path}: refused as {what}, it is {kind}, not a folder")
    return Path(path)
