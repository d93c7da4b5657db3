"""The catalog: table id -> spec, procedure number -> spec."""

from __future__ import annotations

from . import control, devices, display, history, loadprofile, meterconfig, quality, timeofuse
from .basic import BASIC
from .manufacturer import MANUFACTURER
from .procedures import BT07, BT08, ET59, ET85, PROCEDURES
from .types import Dim, TableSpec, nodes_of

_MODULES = (control, devices, display, history, loadprofile, meterconfig, quality, timeofuse)

CATALOG: dict[int, TableSpec] = {
    s.tid: s for s in (*BASIC, BT07, BT08, *MANUFACTURER, ET59, ET85,
                       *(t for m in _MODULES for t in m.TABLES))
}
"""Table id (``mepshark.dissector.tables.table_id``) -> layout."""


def sized_by(obj: object) -> set[str]:
    """Tags of the tables whose values size ``obj`` (a spec, field or tuple of them)."""
    return {d.table for d in nodes_of(obj, Dim)}


def dimension_sources() -> frozenset[str]:
    """Tags of the tables whose fields size others (every Dim's table)."""
    return frozenset(sized_by((*CATALOG.values(), *PROCEDURES.values())))


DIMENSION_SOURCES = dimension_sources()
"""Tables the capture context decodes at once, to learn dimensions from."""


def spec_for(table: int | str) -> TableSpec | None:
    """The spec of a table by id (23) or tag ("BT23"), or None."""
    if isinstance(table, str):
        from ..tables import table_id

        table = table_id(table)
    return CATALOG.get(table)


__all__ = ["CATALOG", "DIMENSION_SOURCES", "PROCEDURES", "spec_for"]
