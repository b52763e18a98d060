"""The guided collection's plan: which digit to draw next, what was kept or skipped, undo (no streamlit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

MIN_K, MAX_K, DEFAULT_K = 3, 20, 5  # examples per digit a collection asks for


@dataclass(frozen=True)
class Slot:
    """One prompt of the plan: `digit`, for the round-th time (0-based)."""

    digit: int
    round: int


@dataclass
class Plan:
    """k rounds of the digits asked for (0-9, then 0-9 again: the same digit is not drawn twice in a row, so
    each drawing is drawn afresh, not copied from the one before). kept: slot -> the set's example id;
    history: what Undo takes back, last first; at: the slot being drawn (None when all are done);
    versions: a slot's redraw count, part of its canvas key (a redraw gets an empty canvas)."""

    name: str
    k: int
    digits: tuple = tuple(range(10))
    kept: dict = field(default_factory=dict)
    skipped: set = field(default_factory=set)
    history: list = field(default_factory=list)
    at: Optional[Slot] = None
    versions: dict = field(default_factory=dict)

    @classmethod
    def new(cls, name: str, k: int, digits=tuple(range(10))) -> "Plan":
        if not MIN_K <= int(k) <= MAX_K:
            raise ValueError(f"examples per digit must be {MIN_K} to {MAX_K}, got {k}")
        digits = tuple(sorted({int(d) for d in digits if 0 <= int(d) <= 9}))
        if not digits:
            raise ValueError("choose at least one digit to draw")
        plan = cls(name, int(k), digits)
        plan.at = plan.slots()[0]
        return plan

    def slots(self) -> list[Slot]:
        return [Slot(d, r) for r in range(self.k) for d in self.digits]

    def slots_of(self, digit: int) -> list[Slot]:
        return [Slot(digit, r) for r in range(self.k)]

    def token(self, slot: Slot) -> str:
        """A widget-key part unique to this slot's current drawing."""
        return f"{slot.digit}_{slot.round}_{self.versions.get(slot, 0)}"

    def remaining(self) -> int:
        return sum(1 for s in self.slots() if s not in self.kept and s not in self.skipped)

    def _advance(self) -> None:
        """To the first slot neither kept nor skipped (None: the plan is done)."""
        self.at = next((s for s in self.slots() if s not in self.kept and s not in self.skipped), None)

    def keep(self, slot: Slot, example: str, replaced=None) -> None:
        """The drawing for `slot` is stored as `example` (replacing a kept one when redrawn: replaced is what
        Undo needs to put that one back, the caller's to choose)."""
        self.history.append(("keep", slot, replaced))
        self.kept[slot] = example
        self.skipped.discard(slot)
        self.versions[slot] = self.versions.get(slot, 0) + 1
        self._advance()

    def skip(self, slot: Slot) -> None:
        self.history.append(("skip", slot, None))
        self.skipped.add(slot)
        self.versions[slot] = self.versions.get(slot, 0) + 1
        self._advance()

    def goto(self, slot: Slot) -> None:
        """Draw `slot` again (redo): the next Keep replaces its example."""
        self.versions[slot] = self.versions.get(slot, 0) + 1
        self.at = slot

    def undo(self) -> tuple[Optional[Slot], Optional[str], Optional[str]]:
        """Take back the last keep or skip: (its slot, the example to remove from the set or None, what keep
        was given as replaced, or None). The slot is the one to draw next, unless restore() puts its
        replaced example back."""
        if not self.history:
            return None, None, None
        action, slot, replaced = self.history.pop()
        example = None
        if action == "keep":
            example = self.kept.pop(slot)
        else:
            self.skipped.discard(slot)
        self.versions[slot] = self.versions.get(slot, 0) + 1
        self.at = slot
        return slot, example, replaced

    def restore(self, slot: Slot, example: str) -> None:
        """After undo() of a redraw: `slot` is kept as `example` again (its first drawing, put back)."""
        self.kept[slot] = example
        self.versions[slot] = self.versions.get(slot, 0) + 1
        self._advance()
