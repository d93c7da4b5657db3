"""Dimensions learned from the capture.

Several layouts depend on other tables (BT23/BT28 on BT21, ET13..ET16 on
ET11, EP19 on ET11, ...).  :class:`DimensionContext` remembers the scalar
fields of every table decoded so far in a capture and answers
:class:`~.types.Dim` lookups with the latest value, or the guide's default
when the capture has not shown it, saying which (docs/architecture.md,
"Pairing and capture context").  The capture context feeds it each decoded read response (and
full writes) in frame order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .layout import CAPTURE, DEFAULT, DimValue, TableDecode
from .types import Bits, Bool, Dim, Int, UInt


@dataclass(frozen=True)
class Learned:
    """One learned value and the frame it came from."""

    value: int
    frame: int | None


class DimensionContext:
    """Dimension values seen so far in a capture, by ``(table tag, field name)``."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], Learned] = {}

    def learn(self, decoded: TableDecode, frame: int | None = None) -> list[str]:
        """Store the top-level integer and flag fields of ``decoded``.

        Only the fields present in the (possibly partial) window are learned;
        returns the keys stored.
        """
        stored = []
        for d in decoded.fields:
            if "." in d.slot.path or "[" in d.slot.path:
                continue
            if not isinstance(d.slot.field, (UInt, Int, Bits, Bool)):
                continue
            stored.append((d.slot.path, int(d.value)))
        if stored:
            # copy on write: views handed out earlier keep the values of their time
            self._values = dict(self._values)
            for path, value in stored:
                self._values[(decoded.tag, path)] = Learned(value, frame)
        return [f"{decoded.tag}.{path}" for path, _ in stored]

    def learn_values(self, tag: str, values: Mapping[str, int], frame: int | None = None) -> None:
        """Store values directly (tests, simulator, preferences)."""
        self._values = dict(self._values)
        for k, v in values.items():
            self._values[(tag, k)] = Learned(int(v), frame)

    def lookup(self, dim: Dim) -> DimValue:
        """The learned value of ``dim``, or its default; with provenance."""
        got = self._values.get((dim.table, dim.field))
        if got is None:
            return DimValue(dim.default, DEFAULT)
        return DimValue(got.value, CAPTURE, got.frame)

    def get(self, tag: str, name: str) -> int | None:
        """A learned value, or None."""
        got = self._values.get((tag, name))
        return None if got is None else got.value

    def forget(self) -> None:
        """Start over (a new capture)."""
        self._values = {}

    def view(self) -> DimensionContext:
        """The values known now, unaffected by later learning (for lazy decodes)."""
        frozen = self.__dict__.get("_view")
        if frozen is None or frozen._values is not self._values:
            frozen = DimensionContext()
            frozen._values = self._values
            self._view = frozen
        return frozen

    def snapshot(self) -> dict[str, int]:
        """``{"BT21.nbr_summations": 15, ...}`` of everything learned."""
        return {f"{t}.{f}": v.value for (t, f), v in self._values.items()}
