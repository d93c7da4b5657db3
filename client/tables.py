"""Reading tables in the light of the tables read before, for any client.

A table's layout can depend on others (BT21 sizes BT23/BT28, ET11 the ET13..ET16
entries): a client reads those first, once, and decodes every later read with
the dimensions they gave.  The MEP client and the optical (C12.18) client share
this; each brings its own way of fetching bytes (``read_raw``).
"""

from __future__ import annotations

from mepshark.dissector.catalog import DimensionContext, decode, spec_for
from mepshark.dissector.catalog.layout import TableDecode
from mepshark.dissector.catalog.procedures import RESPONSE_TABLES, decode_response
from mepshark.dissector.catalog.registry import sized_by
from mepshark.dissector.tables import table_id, table_tag


class TableReader:
    """Mixin: ``read`` and ``decode`` over a subclass's ``read_raw(tid, offset, count)``;
    the subclass sets ``dims`` (a DimensionContext) and ``known`` (tags read whole)."""

    dims: DimensionContext
    known: set[str]

    def read_raw(self, tid: int, offset: int | None = None,
                 count: int | None = None) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def ensure_dims(self, table: int | str) -> None:
        """Read the tables that dimension ``table`` (BT00, BT21, ET11) if not yet read."""
        spec = spec_for(table)
        if spec is None:
            return
        for tag in sorted(sized_by(spec) - self.known - {spec.tag}):
            self.read(tag)

    def read(self, table: int | str, offset: int | None = None,
             count: int | None = None) -> TableDecode | bytes:
        """Read a table and decode it with the catalog (raw bytes when it has no layout)."""
        tid = table_id(table) if isinstance(table, str) else table
        tag = table_tag(tid)
        self.ensure_dims(tid)
        data = self.read_raw(tid, offset, count)
        return self.decode(tag, data, offset or 0)

    def decode(self, tag: str, data: bytes, offset: int = 0) -> TableDecode | bytes:
        """``data`` of table ``tag`` from ``offset``, decoded with the dimensions known."""
        spec = spec_for(tag)
        if spec is None:
            return data
        if tag in RESPONSE_TABLES:
            dec = decode_response(data, offset, self.dims, tag)
        else:
            dec = decode(spec, data, offset, self.dims)
        self.dims.learn(dec)
        if offset == 0:
            self.known.add(tag)
        return dec
