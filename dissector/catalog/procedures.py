"""Procedures: the BT07 request header, the BT08/ET59/ET85 response header,
result codes, and each procedure's parameters and response data.

A procedure is started by writing BT07 (3-byte header + parameters) and its
outcome is read from BT08, ET59 or ET85 (4-byte header + response data).
The guide gives parameter offsets counted from the start of BT07 (the first
parameter is at 3) and response offsets from the start of the response
table (first at 4); the specs below keep those absolute offsets by putting
the header first.

The 16-bit first word: the MEP guide calls bits 0..11 the procedure number
(range up to 2065) and bits 12..15 response handling; C12.19 splits bits
0..11 into an 11-bit number and a manufacturer flag (bit 11).  Both readings
give the same 12-bit value (EP17 = 0x811 = 2065 in the guide's example), so
the catalog decodes the C12.19 parts and derives the 12-bit number from
them (:func:`procedure_number`).  See docs/guide-notes.md.

Only EP17, EP19, EP61 (MEP guide, chapter 4) and the optical guide's
pending-table procedure (BP15) come with parameter tables.  Every other
procedure either guide mentions gets a spec with its name and opaque
parameters (all bytes written after the header) and opaque response data
(BT00's Response Data Length), so captures still show which procedure ran.
BPxx names are those of ANSI C12.19, which the MEP guide says the standard
procedures follow; EPxx names not printed in the guides describe the role
the guide gives them (see each spec's ``desc``).
"""

from __future__ import annotations

from typing import Any

from ..tables import MANUFACTURER_BASE, PROCEDURE_NAMES
from .basic import BT00_RESPONSE_DATA_LENGTH, PED
from .layout import TableDecode, decode, table_size
from .manufacturer import ET11_MULTICAST_LENGTH
from .types import (
    Array,
    BitGroup,
    Bytes,
    Cmp,
    Dim,
    Field,
    Local,
    ProcedureSpec,
    Ref,
    Rest,
    TableSpec,
    When,
    bits,
    contains,
    flag,
    sub,
    uint8,
    uint16,
    uint32,
)

MFG_BASE = MANUFACTURER_BASE
"""EPxx = 2048 + xx, the same rule as the manufacturer table ids."""

NUMBER_MASK = 2 * MFG_BASE - 1
"""A procedure word's number bits: the index (bits 0..10) and the manufacturer flag
(bit 11, worth MFG_BASE); the bits above select the response handling."""

RESULT_CODES: dict[int, str] = {
    0: "Procedure completed",
    1: "Procedure accepted but not fully completed",
    2: "Invalid parameter for known procedure, procedure ignored",
    3: "Procedure conflicts with current device setup, procedure ignored",
    4: "Timing constraint, procedure ignored",
    5: "No authorization for requested procedure, procedure ignored",
    6: "Unrecognized procedure, procedure ignored",
}
"""ANSI result codes (BT08/ET59 "Result Code"); procedures may redefine some."""

RESPONSE_HANDLING = {
    0: "Post response in BT08/ET59/ET85 on completion",
}

_NUMBER_PARTS = (
    bits("procedure_index", "Procedure number (bits 0..10)", 0, 10),
    flag("mfg_flag", "Manufacturer procedure (bit 11)", 11),
)

_NUMBER_WORD = BitGroup(2, (
    *_NUMBER_PARTS,
    bits("selector", "Response handling / selector (bits 12..15)", 12, 15,
         enum=RESPONSE_HANDLING),
))

REQUEST_HEADER = (
    _NUMBER_WORD,
    uint8("sequence", "Procedure Sequence Number (PSN)"),
)
"""BT07 bytes 0..2."""

RESPONSE_HEADER = (
    BitGroup(2, _NUMBER_PARTS),
    uint8("sequence", "Procedure Sequence Number (PSN)"),
    uint8("result_code", "Result Code", enum=RESULT_CODES),
)
"""BT08/ET59/ET85 bytes 0..3."""

REQUEST_HEADER_SIZE = 3
RESPONSE_HEADER_SIZE = 4


def procedure_number(index: int, mfg: bool) -> int:
    """The 12-bit number (EPxx = 2048 + xx) from the C12.19 parts."""
    return (MFG_BASE if mfg else 0) + index


def procedure_parts(number: int) -> dict[str, Any]:
    """The header fields naming procedure ``number`` (the inverse of procedure_number)."""
    return {"procedure_index": number % MFG_BASE, "mfg_flag": number >= MFG_BASE}


def procedure_tag(number: int) -> str:
    """2065 -> ``"EP17"``, 5 -> ``"BP05"``."""
    return f"EP{number - MFG_BASE:02d}" if number >= MFG_BASE else f"BP{number:02d}"


# ----------------------------------------------------------- procedures

EP17 = ProcedureSpec(MFG_BASE + 17, "EP17", PROCEDURE_NAMES["EP17"], params=(
    uint8("action", "Action", enum={
        0: "Remove device, primary address 0",
        1: "Remove device, primary address 250",
    }),
    uint16("device_handle", "Device Handle", enum={0xFFFF: "All devices"}),
), response=(), result_codes={
    1: "Not complete (devices still being removed)",
    2: "Invalid Action",
    3: "Device handle matches no installed device",
    4: "A remove request is already in progress",
})

EP19_REQUEST_TYPES = {
    0: "Reserved", 1: "M-Bus application reset", 2: "Billing read", 3: "Status read",
    4: "Write user data", 5: "Time sync", 6: "Multicast to specified devices",
    9: "MEP download switchover", 10: "Write user data by index",
}

EP19 = ProcedureSpec(MFG_BASE + 19, "EP19", PROCEDURE_NAMES["EP19"], params=(
    uint16("transaction_number", "Transaction Number", hex=True),
    uint16("device_handle", "Device Handle, Group Mask or Device Index Bitmask", hex=True),
    uint8("request_type", "Request Type", enum=EP19_REQUEST_TYPES),
    When(Cmp(Ref("request_type", 4), "==", 9), (
        uint32("image_length", "Image Length", unit="bytes"),
        Bytes("image_mac", "Image MAC", 16),
    ), otherwise=(
        uint8("write_data_length", "Write Data Length", unit="bytes"),
        Array("write_data", "Write Data", sub(ET11_MULTICAST_LENGTH, 1),
              uint8("byte", "Write data byte", hex=True)),
    )),
), response=(
    uint8("entry_index", "Entry index (ET15 queue)"),
), result_codes={
    2: "Invalid request type",
    3: "Handle, group mask or index bitmask matches no installed device",
    7: "On-demand request queue is full",
})

EP61 = ProcedureSpec(MFG_BASE + 61, "EP61", PROCEDURE_NAMES["EP61"], params=(
    uint8("lock", "Lock", enum={0: "Unlock", 1: "Lock"}),
), response=(), result_codes={
    3: "T08_CONFLICT: the other MEP client holds the lock",
    5: "T08_NO_AUTH: not executed by a MEP client",
})

# The optical guide's page 12 describes this procedure under a heading lost
# from our copy: it clears the pending state of the tables whose PED matches,
# leaving their data alone.  That is C12.19's "Clear Specific Pending Table(s)".
BP15 = ProcedureSpec(15, "BP15", PROCEDURE_NAMES["BP15"], params=(PED,),
                     response=(), result_codes={
                         1: "No pending table matches the PED",
                         3: "Internal conflict while processing the request",
                     }, desc="Optical guide, pending table procedures (heading missing).")

# ------------------------------------------- procedures without a layout

NAMED_ONLY: dict[str, str] = {
    # Standard procedures: C12.19 numbers and names (the guides only cite them).
    "BP01": "MEP guide: example of the BPxx naming only.",
    "BP04": "Both guides: clears the list overflow flags (BT63, BT74, ET79).",
    "BP05": ("Both guides: clears list overflow flags; MEP guide: not idempotent, "
             "so never a transaction step."),
    "BP10": "MEP guide: ET04 bit 71.0 disables it together with EP16.",
    "BP12": "Optical guide: activates pending tables, e.g. a PED with event code 2.",
    "BP13": "Optical guide: activates pending tables, e.g. a PED with event code 2.",
    # Manufacturer procedures the guides mention without a layout.
    "EP02": ("Not named in the guides; ET29 cites it as the remote command that "
             "opens or closes the control relay."),
    "EP03": "Not named in the guides; ET55 clears the Cover Removed alarm with it.",
    "EP04": "MEP guide: example of the EPxx naming only, no role given.",
    "EP06": ("Not named in the guides; updates ET36 (current entries) and the "
             "ET04 IDT version."),
    "EP11": ("Not named in the guides; sets the load profile memory length, ET66 "
             "mapping, clears the list overflow flag, bumps the IDT version."),
    "EP16": ("MEP guide (Access Levels, Appendix C): MBK may call it; ET55 offset 4 "
             "sets how many seconds per minute the clock moves (0..16)."),
    "EP18": "Not named in the guides; clears the latched ET14 MEP Alarms bits.",
    "EP26": ("Not named in the guides; decrements the unread entries of the ET36 "
             "logs and clears their alarm at 0."),
    "EP32": ("Not named in the guides; configures demand (ET42 demand configured, "
             "sub-interval, multiplier; ET41 entries) and bumps the IDT version."),
    "EP33": ("Not named in the guides; sets the demand sub-interval and multiplier "
             "with EP32 (ET42) and bumps the IDT version."),
    "EP37": ("Not named in the guides; updates ET36 (entries, ET32 entry size) and "
             "bumps the IDT version."),
    # EP39: the guide names posting types ("Scheduled Read Data", "Scheduled Read
    # Data + Alarms", a "Clear M-Bus Alert" flag, the "Clear Delta Data Alert"
    # type 12) but never where they sit, so the parameters stay opaque.
    "EP39": ("MEP guide: MBK may call it; posts scheduled read data (with alarms) and "
             "clears alerts; sized by BT00 and ET11, can exceed BT07 through ET52."),
    "EP41": ("Not named in the guides; creates the ET15 'MEP download start' entry "
             "(request type 7)."),
    "EP50": ("Not named in the guides; passes RMS voltage, LSV and power values "
             "into a Control Point/OSGP Module."),
    "EP52": "Not named in the guides; changes ET66 and is logged in ET75.",
    "EP64": "Not named in the guides; resets BT24 (firmware 4.10 and higher).",
    # ET54 says the MEP transaction tables are locked "via EP62"; the EP61
    # section, chapter 3, ET52/ET53 and Appendix C all say EP61, so EP62 is taken
    # for a misprint and gets no spec.
}
"""Procedures the guides name (or show the role of) without laying out their
parameters or response: tag -> where the guides mention it (names: guide-ids.csv)."""

EP39_TYPES = {12: "Clear Delta Data Alert"}
"""The only EP39 type value the MEP guide gives a number for (Delta Data Alerts)."""

_OPAQUE_PARAMS = (Bytes("parameters", "Parameters (no layout in the guides)", Rest()),)
_OPAQUE_RESPONSE = (Bytes("response_data", "Response Data (no layout in the guides)",
                          BT00_RESPONSE_DATA_LENGTH),)


def _named_only(tag: str, desc: str) -> ProcedureSpec:
    """Opaque parameters (all bytes written after the header) and response data."""
    number = procedure_number(int(tag[2:]), tag.startswith("EP"))
    return ProcedureSpec(number, tag, PROCEDURE_NAMES[tag], params=_OPAQUE_PARAMS,
                         response=_OPAQUE_RESPONSE, desc=desc)


_LAID_OUT = (BP15, EP17, EP19, EP61)

PROCEDURES: dict[int, ProcedureSpec] = {p.number: p for p in sorted(
    (*_LAID_OUT, *(_named_only(tag, desc) for tag, desc in NAMED_ONLY.items())),
    key=lambda p: p.number)}
"""Procedure number (12-bit, EPxx = 2048 + xx) -> spec."""

GUIDE_LAYOUTS = frozenset(p.tag for p in _LAID_OUT)
"""Procedures whose parameters and response the guides lay out; the others are opaque."""

# Tables whose content is a procedure request or response.
BT07 = TableSpec("BT07", "Procedure Initiate", (
    *REQUEST_HEADER,
    Bytes("parameters", "Parameters", Rest()),
))
BT08 = TableSpec("BT08", "Procedure Response", (
    *RESPONSE_HEADER,
    Bytes("response_data", "Response Data", BT00_RESPONSE_DATA_LENGTH),
))
ET59 = TableSpec("ET59", "MEP Procedure Response", BT08.fields)
ET85 = TableSpec("ET85", "MEP Procedure Response (MEP2)", BT08.fields)
RESPONSE_TABLES = {t.tag: t for t in (BT08, ET59, ET85)}
"""The tables a procedure's response is read from, by tag."""


def result_name(code: int, number: int | None = None) -> str:
    """Name of a result code, the procedure's own meaning first."""
    proc = PROCEDURES.get(number) if number is not None else None
    if proc and code in proc.result_codes:
        return proc.result_codes[code]
    return RESULT_CODES.get(code, f"Procedure-specific code {code}")


def request_spec(number: int) -> TableSpec:
    """BT07 laid out for procedure ``number`` (header + its parameters)."""
    proc = PROCEDURES.get(number)
    if proc is None:
        return BT07
    return TableSpec("BT07", f"Procedure Initiate: {proc.tag} {proc.name}",
                     (*REQUEST_HEADER, *proc.params))


def response_spec(number: int, tag: str = "ET59") -> TableSpec:
    """A response table laid out for procedure ``number``."""
    proc = PROCEDURES.get(number)
    base = RESPONSE_TABLES.get(tag, ET59)
    if proc is None:
        return base
    return TableSpec(tag, f"{base.name}: {proc.tag} {proc.name}",
                     (*RESPONSE_HEADER, *_padded(proc.response)))


def _padded(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    """Response data filled out to BT00's Response Data Length: the response
    table holds that many bytes whatever the procedure puts in them."""
    if contains(fields, (Dim, Ref, Local, Rest)):  # sized by more than itself
        return fields
    used = table_size(TableSpec("", "", fields))
    return (*fields, Bytes("unused", "Unused response data",
                           sub(BT00_RESPONSE_DATA_LENGTH, used)))


def _number_of(data: bytes, offset: int) -> int | None:
    if offset != 0 or len(data) < 2:
        return None
    return int.from_bytes(data[:2], "little") & NUMBER_MASK


def decode_request(data: bytes, offset: int = 0, dims: Any = None) -> TableDecode:
    """Decode a BT07 write: header, then the parameters of the procedure it names.

    A write that does not start at offset 0 cannot say which procedure it
    is; its parameters stay raw.
    """
    number = _number_of(data, offset)
    spec = request_spec(number) if number is not None else BT07
    return decode(spec, data, offset, dims)


def decode_response(data: bytes, offset: int = 0, dims: Any = None,
                    tag: str = "ET59") -> TableDecode:
    """Decode a BT08/ET59/ET85 read: header, result code, response data."""
    number = _number_of(data, offset)
    spec = response_spec(number, tag) if number is not None else response_spec(-1, tag)
    return decode(spec, data, offset, dims)
