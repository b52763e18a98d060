"""Steering a live run at batch boundaries: hold it (pause), or train on at another learning rate."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

Listener = Callable[[dict], None]
PAUSE_POLL_S = 0.1


@dataclass(frozen=True)
class Steering:
    """What a person asked of a running run: hold it, or train on at another learning rate."""

    paused: bool = False
    lr: Optional[float] = None  # None: the recipe's schedule; a number: this constant rate from now


NO_STEERING = Steering()


class Steerer:
    """Applies Steering to a live optimizer at batch boundaries and records what changed.

    A rate set by hand holds from the next batch on; the schedule keeps counting underneath it (and
    keeps cycling momentum), so "back to the schedule" picks it up where it would be by now.
    """

    def __init__(self, opt, sched, on_event: Listener, steer: Callable[[], Steering]):
        self.opt, self.sched, self.emit, self.poll = opt, sched, on_event, steer
        self.applied = NO_STEERING
        self.base = [g["lr"] for g in opt.param_groups]  # the rates without a schedule

    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]

    def step_schedule(self) -> None:
        if self.sched is not None:
            self.sched.step()
        if self.applied.lr is not None:
            self._set(self.applied.lr)

    def check(self, where: dict, should_stop: Callable[[], bool]) -> tuple[float, bool]:
        """Apply new steering; block while paused. Returns (seconds spent paused, stop requested).

        A stop that arrives while paused ends the pause without a "resume" event: the run goes from
        paused straight to its end, never back to "running" for a moment.
        """
        wanted = self.poll()
        if wanted == self.applied:
            return 0.0, False
        self._apply_lr(wanted, where)
        if not wanted.paused:
            self.applied = wanted
            return 0.0, False
        t = time.perf_counter()
        self.emit({"event": "pause", **where, "time": time.time()})
        while wanted.paused:
            if should_stop():
                return time.perf_counter() - t, True
            time.sleep(PAUSE_POLL_S)
            wanted = self.poll()
            self._apply_lr(wanted, where)
        if should_stop():  # a stop that came with the resume: end here, not one batch later
            return time.perf_counter() - t, True
        paused = time.perf_counter() - t
        self.applied = Steering(False, wanted.lr)
        self.emit({"event": "resume", **where, "paused_seconds": paused, "time": time.time()})
        return paused, False

    def _set(self, lr) -> None:
        for group, value in zip(self.opt.param_groups, lr if isinstance(lr, list) else [lr] * len(self.base)):
            group["lr"] = value

    def _apply_lr(self, wanted: Steering, where: dict) -> None:
        if wanted.lr == self.applied.lr:
            return
        old = self.lr()
        if wanted.lr is None:  # back to the schedule, at the point it has reached
            self._set(self.sched.get_last_lr() if self.sched is not None else self.base)
        else:
            self._set(wanted.lr)
        self.applied = Steering(self.applied.paused, wanted.lr)
        self.emit({"event": "lr_change", **where, "from": old, "to": self.lr(), "schedule": wanted.lr is None,
                   "time": time.time()})
