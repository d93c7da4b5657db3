"""Wireshark view of the scapy definitions: field abbreviations, types and values.

The Lua generator declares one ProtoField per :class:`WSField` found here,
and the differential tests compare tshark's output with :func:`flatten`,
which lists a decoded frame's fields in the order the Lua tree adds them:
the frame's own fields (TLS records nested in place), the table contents the
frame carries (:func:`table_fields`), then the fields that come from the
capture context (``CONTEXT_FIELDS``).

Table contents are named ``mep.<tag>.<slot abbrev>`` (``mep.bt23.fwd_active_wh_l1l2l3``).
Procedure tables (BT07 writes, BT08/ET59/ET85 reads) put their header under
``mep.procedure.*`` (``mep.procedure.sequence``, ``mep.procedure.result_code``,
and the derived 12-bit ``mep.procedure.number``), the parameters or response
data of a known procedure under ``mep.<procedure tag>.*`` (``mep.ep19.request_type``)
and those of an unknown one under the table (``mep.bt07.parameters``).
Values as ``tshark -T fields`` prints them: integers (signed where the type
is), booleans, bytes for SET/opaque data, and strings for CHAR arrays (bytes
outside printable ASCII as ``\\xNN``), BCD and rendered dates and times.
Zero-length leaves show nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from scapy.fields import Field, PacketListField

from .catalog import PROCEDURES, TableDecode
from .catalog.layout import render
from .catalog.procedures import (
    BT07,
    REQUEST_HEADER,
    REQUEST_HEADER_SIZE,
    RESPONSE_HEADER,
    RESPONSE_HEADER_SIZE,
    RESPONSE_TABLES,
    procedure_number,
    request_spec,
    response_spec,
)
from .catalog.registry import CATALOG
from .catalog.types import (
    AnsiDate,
    Array,
    Bcd,
    BitGroup,
    Bits,
    Bool,
    Bytes,
    Chars,
    Fill,
    Int,
    LTimeDate,
    ProcedureSpec,
    RDate,
    Record,
    Repeat,
    Set,
    STimeDate,
    TableSpec,
    Time,
    UInt,
    When,
)
from .context import DIGEST_STATUS, DIRECTIONS, FrameInfo
from .frames import MEP, MEPTLSRecord, NumField, OctetsField
from .tables import table_label


@dataclass(frozen=True)
class WSField:
    """One Wireshark field: abbreviation, display name, type, base and value names."""

    abbrev: str
    name: str
    ftype: str
    """uint8..uint32, int8..int32, bytes, string, bool, framenum, reltime."""
    base: str = "DEC"
    values: tuple[tuple[int, str], ...] = ()
    blurb: str = ""
    frametype: str = ""
    """For framenum fields: REQUEST or RESPONSE (Wireshark draws the link)."""
    mask: int = 0
    """For bit fields: their bits in the container (Wireshark shows the bit pattern)."""
    bits: int = 0
    """For bit fields: the container's width in bits."""


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
    """The Wireshark field a frame field of ``cls`` becomes."""
    abbrev = abbrev_of(cls, f.name)
    if isinstance(f, NumField):
        spec = f.spec
        values = tuple(sorted((spec.values or {}).items()))
        base = "HEX" if spec.hex else "DEC"
        return WSField(abbrev, _display(f.name), f"uint{8 * spec.size}", base, values)
    if isinstance(f, OctetsField):
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
"""Fields the capture context adds (docs/architecture.md, "Field names")."""


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
    for wf in table_ws_fields():
        old = seen.setdefault(wf.abbrev, wf)
        if old != wf:
            raise TypeError(f"{wf.abbrev} declared twice: {old} / {wf}")
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
    if not isinstance(fi, FrameInfo):  # a C12.18 record lists its own
        return fi.flatten()
    out: list[tuple[str, object]] = []
    pkt = fi.packet if fi.packet is not None else fi.frame
    _own(pkt, out)
    if fi.tls is not None and fi.tls.packet is not None:
        _own(fi.tls.packet, out)  # the TLS plaintext, as the Lua shows it after the frame
    out += table_fields(fi.table)
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


# ------------------------------------------------------------- table contents

PROCEDURE_HEADERS = {BT07.tag: (REQUEST_HEADER, REQUEST_HEADER_SIZE)}
PROCEDURE_HEADERS.update({t: (RESPONSE_HEADER, RESPONSE_HEADER_SIZE) for t in RESPONSE_TABLES})
"""Procedure tables: their header fields and its size in bytes."""

PROCEDURE_NUMBER = WSField(
    "mep.procedure.number", "Procedure number", "uint16", "DEC",
    tuple((n, f"{p.tag} {p.name}") for n, p in sorted(PROCEDURES.items())),
    "12-bit procedure number (EPxx = 2048 + xx)",
)
_DATE_TYPES = (Time, STimeDate, LTimeDate, RDate, AnsiDate)


def leaf_ftype(leaf, size: int) -> str:
    """The Wireshark type of a catalog leaf held in ``size`` bytes."""
    if isinstance(leaf, (UInt, Bits)):
        signed = getattr(leaf, "signed", False)
        return f"{'int' if signed else 'uint'}{8 * size}"
    if isinstance(leaf, Int):
        return f"int{8 * size}"
    if isinstance(leaf, Bool):
        return "bool"
    if isinstance(leaf, (Set, Bytes)):
        return "bytes"
    return "string"


def bit_mask(leaf) -> int:
    """The bits a BOOL(x) or UINT(lo..hi) leaf takes in its container (0: not a bit field)."""
    if isinstance(leaf, Bool):
        return 1 << leaf.bit
    if isinstance(leaf, Bits):
        return ((1 << (leaf.hi - leaf.lo + 1)) - 1) << leaf.lo
    return 0


def printable(text: str) -> str:
    """A CHAR array as shown: bytes outside printable ASCII become ``\\xNN``."""
    return "".join(c if " " <= c <= "~" else f"\\x{ord(c):02x}" for c in text)


def ws_value(leaf, value, raw: bytes):
    """A decoded leaf's value as ``tshark -T fields`` shows it."""
    if isinstance(leaf, (UInt, Int, Bits)):
        return int(value)
    if isinstance(leaf, Bool):
        return bool(value)
    if isinstance(leaf, (Set, Bytes)):
        return bytes(raw)
    if isinstance(leaf, Chars):
        return printable(value)
    if isinstance(leaf, Bcd):
        return value
    return render(leaf, value)


def table_prefix(tag: str, proc: ProcedureSpec | None = None) -> str:
    """Abbreviation prefix of a table's fields (of a procedure's parameters/response)."""
    return f"mep.{(proc.tag if proc else tag).lower()}"


def _static_leaves(fields, prefix: str, out: list, pabbrev: str = "", own: str | None = None):
    """Every leaf a layout of ``fields`` can produce, whatever the dimensions:
    ``(abbrev, leaf, size)``, following :mod:`.catalog.layout`'s naming."""
    for f in fields:
        name = getattr(f, "name", "")
        abbrev = own if own is not None else (f"{pabbrev}.{name}" if pabbrev else name)
        base = own if own is not None else pabbrev
        if isinstance(f, When):
            _static_leaves((*f.fields, *f.otherwise), prefix, out, base, None)
        elif isinstance(f, Fill):
            continue
        elif isinstance(f, BitGroup):
            for part in f.parts:
                ab = f"{base}.{part.name}" if base else part.name
                out.append((f"{prefix}.{ab}", part, f.size))
        elif isinstance(f, Record):
            _static_leaves(f.fields, prefix, out, abbrev, None)
        elif isinstance(f, Array):
            for elt in f.per_index:
                _static_leaves((elt,), prefix, out, pabbrev, None if f.flatten else abbrev)
            _static_leaves((f.element,), prefix, out, pabbrev, abbrev)
        elif isinstance(f, Repeat):
            _static_leaves((f.element,), prefix, out, pabbrev, abbrev)
        else:
            size = f.size if isinstance(f, (UInt, Int)) else 0
            out.append((f"{prefix}.{abbrev}", f, size))
    return out


def spec_parts(spec: TableSpec, proc: ProcedureSpec | None = None) -> list[tuple[str, tuple]]:
    """``(prefix, top-level fields)`` runs of a table spec: the procedure header
    first (``mep.procedure``) for procedure tables."""
    header = PROCEDURE_HEADERS.get(spec.tag)
    if header is None:
        return [(table_prefix(spec.tag), spec.fields)]
    k = len(header[0])
    return [("mep.procedure", spec.fields[:k]), (table_prefix(spec.tag, proc), spec.fields[k:])]


def table_specs() -> list[tuple[TableSpec, ProcedureSpec | None]]:
    """Every layout the dissector applies: the catalog tables, then BT07 and the
    response tables laid out for each known procedure."""
    out: list[tuple[TableSpec, ProcedureSpec | None]] = [(s, None) for s in CATALOG.values()]
    for proc in PROCEDURES.values():
        out.append((request_spec(proc.number), proc))
        out.append((response_spec(proc.number, "ET59"), proc))
    return out


def table_ws_fields() -> list[WSField]:
    """One WSField per distinct table field abbreviation."""
    seen: dict[str, WSField] = {}
    for spec, proc in table_specs():
        for prefix, fields in spec_parts(spec, proc):
            for abbrev, leaf, size in _static_leaves(fields, prefix, []):
                values = tuple(sorted((getattr(leaf, "enum", None) or {}).items()))
                mask = bit_mask(leaf)
                wf = WSField(abbrev, leaf.label, leaf_ftype(leaf, size),
                             "HEX" if getattr(leaf, "hex", False) else "DEC", values,
                             leaf.desc, mask=mask, bits=8 * size if mask else 0)
                if wf.ftype in ("bool", "bytes", "string"):
                    wf = WSField(abbrev, leaf.label, wf.ftype, "NONE", (), leaf.desc,
                                 mask=mask, bits=wf.bits)
                old = seen.setdefault(abbrev, wf)
                if old != wf:
                    raise TypeError(f"{abbrev} declared twice: {old} / {wf}")
    seen[PROCEDURE_NUMBER.abbrev] = PROCEDURE_NUMBER
    return list(seen.values())


def table_fields(td: TableDecode | None) -> list[tuple[str, object]]:
    """A table decode as (abbreviation, value) pairs, in layout order."""
    if td is None:
        return []
    out: list[tuple[str, object]] = []
    header = PROCEDURE_HEADERS.get(td.tag)
    hsize = header[1] if header else 0
    proc = None
    number = None
    if header is not None:
        v = td.values()
        if "procedure_index" in v and "mfg_flag" in v:
            number = procedure_number(v["procedure_index"], v["mfg_flag"])
            proc = PROCEDURES.get(number)
    prefix = table_prefix(td.tag, proc)
    for d in td.fields:
        s = d.slot
        if s.size == 0:
            continue
        p = "mep.procedure" if s.offset < hsize else prefix
        out.append((f"{p}.{s.abbrev}", ws_value(s.field, d.value, d.raw)))
    if number is not None:
        out.append((PROCEDURE_NUMBER.abbrev, number))
    return out
