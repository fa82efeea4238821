"""Undo and redo of the local user's own edits, grouped the way a user thinks.

pycrdt's UndoManager tracks only transactions whose origin we include, so a
partner's concurrent edits (applied with another origin) are never undone.

Grouping: the manager merges a change into the previous undo step when its
timestamp is within `capture_timeout` of the last change. We feed it a logical
clock instead of wall time: each edit outside a group, and each new group,
jumps the clock far ahead (a new step); edits inside a group keep it still (the
same step). So one drag is one step no matter how long it takes, and two quick
separate edits are two steps.
"""

from __future__ import annotations

from typing import Any

from pycrdt import UndoManager

_CAPTURE_MS = 1_000
# yrs never merges into a step whose last change had timestamp 0, so start above it.
_START = 1_000_000_000
_JUMP = 1_000_000


class UndoHistory:
    def __init__(self, scopes: list[Any], origin: str) -> None:
        self._clock = _START
        self._depth = 0
        self._manager = UndoManager(
            scopes=scopes, capture_timeout_millis=_CAPTURE_MS, timestamp=self._now
        )
        self._manager.include_origin(origin)
        # Read once: asking the manager during its own undo fails ("already borrowed").
        self._undo_origin = self._manager.origin

    def _now(self) -> int:
        return self._clock

    @property
    def origin(self) -> Any:
        """Origin of the manager's own undo and redo transactions."""
        return self._undo_origin

    def before_edit(self) -> None:
        if self._depth == 0:
            self._clock += _JUMP

    def begin_group(self) -> None:
        if self._depth == 0:
            self._clock += _JUMP
        self._depth += 1

    def end_group(self) -> None:
        if self._depth == 0:
            raise RuntimeError("end_group() without begin_group()")
        self._depth -= 1

    def undo(self) -> bool:
        self._clock += _JUMP  # an edit right after an undo starts its own step
        return bool(self._manager.undo())

    def redo(self) -> bool:
        self._clock += _JUMP
        return bool(self._manager.redo())

    def can_undo(self) -> bool:
        return bool(self._manager.can_undo())

    def can_redo(self) -> bool:
        return bool(self._manager.can_redo())

    @property
    def undo_depth(self) -> int:
        return len(self._manager.undo_stack)

    def clear(self) -> None:
        self._manager.clear()
