"""scapy Packet classes generated from the catalog specs (one per table/procedure).

Thin by design: each class has one field per leaf slot of the layout for the
given dimensions (the guide's defaults unless told otherwise), and every
field reads and writes through :mod:`.layout`, which stays the source of
truth.  Bit fields sharing a container consume its bytes once, at the last
part, so ``BT52(raw).show()`` lists every flag with its value.
"""

from __future__ import annotations

from typing import Any

from scapy.fields import Field
from scapy.packet import Packet

from .layout import Slot, decode_value, encode_value, merge_bits, plan, render
from .registry import CATALOG
from .types import Bits, Bool, TableSpec


class SlotField(Field):
    """A scapy field for one catalog slot; ``i2repr`` shows units and enum names."""

    __slots__ = ["slot", "consumes", "group"]

    def __init__(self, slot: Slot, consumes: bool, group: tuple[SlotField, ...] = ()):
        self.slot = slot
        self.consumes = consumes
        self.group = group
        super().__init__(slot.ident, None, fmt=f"{slot.size}s")

    def _raw(self, s: bytes) -> bytes | None:
        return s[: self.slot.size] if len(s) >= self.slot.size else None

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, Any]:
        raw = self._raw(s)
        if raw is None:
            return (s[len(s):] if self.consumes else s), None
        v = decode_value(self.slot.field, raw[::-1] if self.slot.msb_first else raw)
        return (s[self.slot.size :] if self.consumes else s), v

    def addfield(self, pkt: Packet, s: bytes, val: Any) -> bytes:
        if not self.consumes:
            return s
        f = self.slot.field
        if isinstance(f, (Bool, Bits)):
            order = "big" if self.slot.msb_first else "little"
            cont = 0
            for part in (*self.group, self):
                v = pkt.getfieldval(part.name)
                if v is not None:
                    cont = merge_bits(cont, part.slot.field, v)
            return s + cont.to_bytes(self.slot.size, order)
        if val is None:
            return s + bytes(self.slot.size)
        return s + encode_value(f, val, self.slot.size)

    def i2repr(self, pkt: Packet | None, x: Any) -> str:
        return "(absent)" if x is None else render(self.slot.field, x)

    def i2len(self, pkt: Packet | None, x: Any) -> int:
        return self.slot.size if self.consumes else 0


def fields_for(spec: TableSpec, dims: Any = None) -> list[SlotField]:
    """scapy fields of ``spec`` laid out for ``dims``."""
    slots = plan(spec, dims).slots
    out: list[SlotField] = []
    pending: list[SlotField] = []
    for i, s in enumerate(slots):
        nxt = slots[i + 1] if i + 1 < len(slots) else None
        shares = (nxt is not None and isinstance(s.field, (Bool, Bits))
                  and isinstance(nxt.field, (Bool, Bits)) and nxt.offset == s.offset)
        if shares:
            f = SlotField(s, consumes=False)
            pending.append(f)
        else:
            f = SlotField(s, consumes=True, group=tuple(pending))
            pending = []
        out.append(f)
    return out


_CACHE: dict[str, type[Packet]] = {}


def packet_class(spec: TableSpec, dims: Any = None) -> type[Packet]:
    """A scapy Packet class named after the table tag (``BT52``) for ``spec``.

    Classes for default dimensions are cached; pass ``dims`` to build one
    for the dimensions a capture reported.
    """
    if dims is None and spec.tag in _CACHE and _CACHE[spec.tag].spec is spec:
        return _CACHE[spec.tag]
    cls = type(spec.tag, (Packet,), {
        "name": f"{spec.tag} {spec.name}",
        "fields_desc": fields_for(spec, dims),
        "spec": spec,
        "wireshark_prefix": f"mep.{spec.tag.lower()}",
        "__module__": __name__,
    })
    if dims is None:
        _CACHE[spec.tag] = cls
    return cls


def all_packet_classes() -> dict[int, type[Packet]]:
    """Table id -> Packet class for every table of the catalog."""
    return {tid: packet_class(spec) for tid, spec in CATALOG.items()}
