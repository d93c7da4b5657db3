"""Wireshark view of the scapy definitions: field abbreviations, types and values.

The Lua generator declares one ProtoField per :class:`WSField` found here,
and the differential tests compare tshark's output with :func:`flatten`,
which lists a decoded frame's fields in the order the Lua tree adds them:
the frame's own fields (TLS records nested in place), then the fields that
come from the capture context (``CONTEXT_FIELDS``).
"""

from __future__ import annotations

from dataclasses import dataclass

from scapy.fields import (
    ByteEnumField,
    ByteField,
    Field,
    PacketListField,
    ShortField,
    ThreeBytesField,
    XIntField,
    XShortEnumField,
    XStrField,
    XStrFixedLenField,
    XStrLenField,
)

from .context import DIGEST_STATUS, DIRECTIONS, FrameInfo
from .frames import MEP, MEPTLSRecord, TableIdField
from .tables import table_label


@dataclass(frozen=True)
class WSField:
    """One Wireshark field: abbreviation, display name, type, base and value names."""

    abbrev: str
    name: str
    ftype: str
    """uint8, uint16, uint24, uint32, bytes, string, bool, framenum, reltime."""
    base: str = "DEC"
    values: tuple[tuple[int, str], ...] = ()
    blurb: str = ""
    frametype: str = ""
    """For framenum fields: REQUEST or RESPONSE (Wireshark draws the link)."""


_NAMES = {
    "length": "Length",
    "request_code": "Request code",
    "response_code": "Response code",
    "code": "Code",
    "table_id": "Table",
    "offset": "Offset",
    "count": "Count",
    "data": "Data",
    "sequence": "Sequence number",
    "digest": "Digest",
    "content_type": "Content type",
    "version": "Version",
    "content": "Content",
}


def _display(name: str) -> str:
    return _NAMES.get(name, name.replace("_", " ").capitalize())


def abbrev_of(cls: type, name: str) -> str:
    """``prefix.name``; the length field of every frame class is ``mep.length``."""
    if name == "length" and issubclass(cls, MEP):
        return "mep.length"
    return f"{cls.wireshark_prefix}.{name}"


def ws_field(cls: type, f: Field) -> WSField:
    """The Wireshark field a scapy field of ``cls`` becomes."""
    abbrev = abbrev_of(cls, f.name)
    values: tuple[tuple[int, str], ...] = ()
    enum = getattr(f, "i2s", None)
    if enum:
        values = tuple(sorted(enum.items()))
    if isinstance(f, TableIdField):
        return WSField(abbrev, _display(f.name), "uint16", "HEX")
    if isinstance(f, (ByteEnumField, ByteField)):
        return WSField(abbrev, _display(f.name), "uint8", "HEX" if values else "DEC", values)
    if isinstance(f, XShortEnumField):
        return WSField(abbrev, _display(f.name), "uint16", "HEX", values)
    if isinstance(f, ShortField):
        return WSField(abbrev, _display(f.name), "uint16", "DEC", values)
    if isinstance(f, ThreeBytesField):
        return WSField(abbrev, _display(f.name), "uint24", "DEC")
    if isinstance(f, XIntField):
        return WSField(abbrev, _display(f.name), "uint32", "HEX")
    if isinstance(f, (XStrField, XStrFixedLenField, XStrLenField)):
        return WSField(abbrev, _display(f.name), "bytes", "NONE")
    raise TypeError(f"{cls.__name__}.{f.name}: no Wireshark type for {type(f).__name__}")


CONTEXT_FIELDS: list[WSField] = [
    WSField("mep.direction", "Direction", "uint8", "DEC", tuple(DIRECTIONS.items())),
    WSField("mep.alert", "Alert", "bool", "NONE", blurb="The meter's alert sequence"),
    WSField("mep.table_name", "Table name", "string", "NONE"),
    WSField("mep.request_in", "Request in", "framenum", "NONE", (), "Frame of the request",
            "REQUEST"),
    WSField("mep.response_in", "Response in", "framenum", "NONE", (), "Frame of the response",
            "RESPONSE"),
    WSField("mep.time", "Response time", "reltime", "NONE", blurb="Seconds since the request"),
    WSField("mep.retransmission", "Retransmission of", "framenum", "NONE"),
    WSField("mep.digest.status", "Digest status", "uint8", "DEC", tuple(DIGEST_STATUS.items())),
    WSField("mep.key", "Key", "string", "NONE", blurb="The key that verified the digest"),
    WSField("mep.encrypted", "Encrypted", "bool", "NONE"),
]
"""Fields the capture context adds (DESIGN.md names)."""


def frame_classes(cls: type = MEP) -> list[type]:
    """Every frame class, base first."""
    found = [cls]
    for sub in cls.__subclasses__():
        found += frame_classes(sub)
    return found


def all_fields() -> list[WSField]:
    """Every field of every frame class and of TLS records, once, plus the context fields."""
    seen: dict[str, WSField] = {}
    for cls in [*frame_classes(), MEPTLSRecord]:
        for f in cls.fields_desc:
            if isinstance(f, PacketListField):
                continue
            wf = ws_field(cls, f)
            old = seen.setdefault(wf.abbrev, wf)
            if (old.ftype, old.base) != (wf.ftype, wf.base):
                raise TypeError(f"{wf.abbrev} declared with two types: {old} / {wf}")
            if wf.values and old.values != wf.values:
                # one abbreviation, several value tables (e.g. TLS request and
                # response codes): keep the union, requests win on a clash
                merged = dict(wf.values)
                merged.update(old.values)
                seen[wf.abbrev] = WSField(
                    old.abbrev, old.name, old.ftype, old.base, tuple(sorted(merged.items()))
                )
    for wf in CONTEXT_FIELDS:
        seen.setdefault(wf.abbrev, wf)
    return list(seen.values())


def _own(pkt, prefix_values: list) -> None:
    for f in pkt.fields_desc:
        value = pkt.fields.get(f.name)
        if value is None:
            continue
        if isinstance(f, PacketListField):
            for rec in value:
                _own(rec, prefix_values)
            continue
        if isinstance(value, bytes) and not value:
            continue  # an empty byte field has no bytes to show in Wireshark either
        prefix_values.append((abbrev_of(type(pkt), f.name), value))


def flatten(fi: FrameInfo) -> list[tuple[str, object]]:
    """A decoded frame as (abbreviation, value) pairs, in Lua tree order."""
    out: list[tuple[str, object]] = []
    pkt = fi.packet if fi.packet is not None else fi.frame
    _own(pkt, out)
    if fi.direction is not None:
        out.append(("mep.direction", fi.direction))
    if fi.kind == "alert":
        out.append(("mep.alert", True))
    if fi.table_id is not None:
        out.append(("mep.table_name", table_label(fi.table_id)))
    if fi.kind == "response" and fi.request is not None:
        if fi.table_id is not None:
            out.append(("mep.table_id", fi.table_id))
        if fi.offset is not None:
            out.append(("mep.offset", fi.offset))
        if fi.count is not None:
            out.append(("mep.count", fi.count))
        out.append(("mep.request_in", fi.request_in))
        out.append(("mep.time", fi.response_time))
    if fi.response_in is not None:
        out.append(("mep.response_in", fi.response_in))
    if fi.retransmission_of is not None:
        out.append(("mep.retransmission", fi.retransmission_of))
    if fi.digest_status is not None:
        out.append(("mep.digest.status", fi.digest_status))
    if fi.key is not None:
        out.append(("mep.key", fi.key))
    if fi.encrypted:
        out.append(("mep.encrypted", True))
    return out
