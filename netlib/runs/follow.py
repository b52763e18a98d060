"""Following a run as it trains: each look reads only the part of its metrics log written since the last."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterable, MutableMapping, Optional

from ..bounded import chunks, open_regular
from .reader import MAX_EVENTS, MAX_METRICS_BYTES, RunInfo, add_event, parse_event, read_run_with

# How much of what it read last a follower checks is still there: a log cut back and written again
# (+1 epoch that ended before its first epoch truncates its events away) differs in these bytes.
CHECK_BYTES = 256
FOLLOWERS_KEY = "_run_followers"  # a page session's Followers (one per browser session)


class RunFollower:
    """A run read as read_run reads it, but its metrics log only from where the last poll stopped.

    It keeps the log's events so far (redone epochs already dropped), how far it has read, and the
    incomplete line a writer is in the middle of (kept, read again once complete). A log that is gone,
    replaced (another file), or cut back (shorter, or not ending as it did) is read again from its start.
    read_events's bounds hold: at most max_bytes of a log and max_events of its lines are ever read.
    """

    def __init__(self, run_dir: Path, max_bytes: int = MAX_METRICS_BYTES, max_events: int = MAX_EVENTS):
        self.dir = Path(run_dir)
        self.max_bytes, self.max_events = max_bytes, max_events
        self._lock = threading.Lock()  # a rerun may start before the script run it interrupts has let go
        self._restart(None)

    def _restart(self, ident: Optional[tuple]) -> None:
        self._ident = ident  # (device, inode) of the log read so far
        self.offset = 0  # bytes of the log read so far (complete lines and the incomplete one after them)
        self._lines = 0  # complete lines read, parsed or not: max_events counts lines as read_events does
        self._events: list[dict] = []
        self._pending, self._pending_event = b"", None  # the incomplete last line, and what it parses to
        self._tail = b""  # the last CHECK_BYTES bytes read

    def poll(self) -> Optional[RunInfo]:
        """What read_run(run_dir) returns now, reading only the bytes appended since the last poll."""
        with self._lock:
            return read_run_with(self.dir, self._events_now)

    def _events_now(self, path: Path) -> list[dict]:
        try:
            fd = open_regular(path)
        except FileNotFoundError:
            self._restart(None)
            return []
        try:
            st = os.fstat(fd)
            ident = (st.st_dev, st.st_ino)
            if ident != self._ident or st.st_size < self.offset or not self._same_tail(fd):
                self._restart(ident)
            if st.st_size > self.offset and self.offset < self.max_bytes and self._lines < self.max_events:
                os.lseek(fd, self.offset, os.SEEK_SET)
                self._take(b"".join(chunks(fd, self.max_bytes - self.offset)))
        finally:
            os.close(fd)
        if self._pending_event is None or self._lines >= self.max_events:
            return list(self._events)
        # read_events also takes a last line with no newline yet when it parses (a log cut at max_bytes)
        return add_event(list(self._events), self._pending_event)

    def _same_tail(self, fd: int) -> bool:
        """Does the log still hold, just before where this follower stopped, the bytes it read there?"""
        return not self._tail or os.pread(fd, len(self._tail), self.offset - len(self._tail)) == self._tail

    def _take(self, data: bytes) -> None:
        """The bytes read past offset: its complete lines become events, the rest waits for its newline."""
        self.offset += len(data)
        self._tail = (self._tail + data[-CHECK_BYTES:])[-CHECK_BYTES:]
        lines = (self._pending + data if self._pending else data).split(b"\n")
        self._pending = lines.pop()
        taken = lines[:self.max_events - self._lines]
        self._lines += len(taken)
        for line in taken:
            event = parse_event(line)
            if event is not None:
                self._events = add_event(self._events, event)
        self._pending_event = parse_event(self._pending) if self._pending else None


class Followers:
    """The followers of the runs one page session watches: one per run, created when first read."""

    def __init__(self):
        self._by_dir: dict[Path, RunFollower] = {}

    def watch(self, run_dirs: Iterable[Path]) -> None:
        """The page now watches these runs: the followers of any other run (and their events) go."""
        keep = {Path(d) for d in run_dirs if d is not None}
        self._by_dir = {d: f for d, f in self._by_dir.items() if d in keep}

    def read(self, run_dir: Path) -> Optional[RunInfo]:
        """read_run(run_dir), through this run's follower."""
        run_dir = Path(run_dir)
        follower = self._by_dir.get(run_dir)
        if follower is None:
            follower = self._by_dir[run_dir] = RunFollower(run_dir)
        return follower.poll()


def followers(state: MutableMapping) -> Followers:
    """The Followers kept in a page session's state (st.session_state), created on first use."""
    found = state.get(FOLLOWERS_KEY)
    if not isinstance(found, Followers):
        found = state[FOLLOWERS_KEY] = Followers()
    return found
