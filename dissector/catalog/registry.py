"""The catalog: table id -> spec, procedure number -> spec."""

from __future__ import annotations

from .basic import BASIC
from .manufacturer import MANUFACTURER
from .procedures import BT07, BT08, ET59, ET85, PROCEDURES
from .types import TableSpec

CATALOG: dict[int, TableSpec] = {
    s.tid: s for s in (*BASIC, BT07, BT08, *MANUFACTURER, ET59, ET85)
}
"""Table id (``mepshark.dissector.tables.table_id``) -> layout."""


def spec_for(table: int | str) -> TableSpec | None:
    """The spec of a table by id (23) or tag ("BT23"), or None."""
    if isinstance(table, str):
        from ..tables import table_id

        table = table_id(table)
    return CATALOG.get(table)


__all__ = ["CATALOG", "PROCEDURES", "spec_for"]
