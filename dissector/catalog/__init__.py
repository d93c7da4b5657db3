"""Table and procedure catalog (issue #3): declarative layouts and their interpreter.

* :mod:`.types` - the field vocabulary (plain data, readable by the Lua generator);
* :mod:`.layout` - :func:`layout`, :func:`decode`, :func:`encode` over a spec;
* :mod:`.context` - :class:`DimensionContext`, dimensions learned from a capture;
* :mod:`.basic`, :mod:`.manufacturer`, :mod:`.procedures` - the specs;
* :mod:`.queues` - the list header and entry order of the circular-queue logs;
* :mod:`.packets` - scapy Packet classes generated from the specs.
"""

from __future__ import annotations

from .context import DimensionContext
from .layout import DimValue, Slot, TableDecode, decode, encode, layout, plan, table_size
from .registry import CATALOG, PROCEDURES, spec_for

__all__ = [
    "CATALOG",
    "PROCEDURES",
    "DimValue",
    "DimensionContext",
    "Slot",
    "TableDecode",
    "decode",
    "encode",
    "layout",
    "plan",
    "spec_for",
    "table_size",
]
