"""Table identifiers and names (C12.19 standard tables BTxx, manufacturer
tables ETxx = 2048 + xx).

The one list of table ids and guide names is ``guide-ids.csv`` beside this
module; frame summaries, the Lua generator and the catalog of table layouts
all read it through here.  Ids are computed
from the tag rather than copied from the guide's headings, some of which
carry typos (ET46 is listed as 2046/0x07FE, ET79 as 0x0849; both contradict
the 2048 + xx rule that every other heading follows).
"""

from __future__ import annotations

import csv
from pathlib import Path

MANUFACTURER_BASE = 2048

GUIDE_IDS = Path(__file__).with_name("guide-ids.csv")
"""Every table and procedure id the two guides define or list: tag, id, name,
guide, page, and whether a guide lays it out (``layout`` = guide/none)."""


def guide_ids() -> list[dict[str, str]]:
    """The rows of :data:`GUIDE_IDS`."""
    with GUIDE_IDS.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


_NAMES = {r["tag"]: r["name"] for r in guide_ids() if r["tag"][1] == "T"}

PROCEDURE_NAMES: dict[str, str] = {r["tag"]: r["name"] for r in guide_ids() if r["tag"][1] == "P"}
"""Procedure tag (``"EP17"``) -> the guides' name, from the same list."""


def table_id(tag: str) -> int:
    """``"BT23"`` -> 23, ``"ET50"`` -> 2098."""
    kind, num = tag[:2].upper(), int(tag[2:])
    if kind == "BT":
        return num
    if kind == "ET":
        return MANUFACTURER_BASE + num
    raise ValueError(f"not a table tag: {tag!r}")


TAG_RANGES = ((0, MANUFACTURER_BASE, "BT%02d"),
              (MANUFACTURER_BASE, 2 * MANUFACTURER_BASE, "ET%02d"))
"""(first id, end, tag format of the number from the first id) of the numbered tables."""
OTHER_TAG = "T%d"


def table_tag(tid: int) -> str:
    """23 -> ``"BT23"``, 2098 -> ``"ET50"``; other ids as ``"T<id>"``."""
    for first, end, fmt in TAG_RANGES:
        if first <= tid < end:
            return fmt % (tid - first)
    return OTHER_TAG % tid


TABLES: dict[int, tuple[str, str]] = {table_id(t): (t, n) for t, n in _NAMES.items()}
"""Table id -> (tag, guide name)."""


def table_label(tid: int) -> str:
    """``"BT23 Current Register Data"``; unknown ids as their tag alone."""
    entry = TABLES.get(tid)
    return f"{entry[0]} {entry[1]}" if entry else table_tag(tid)
