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
"""

from __future__ import annotations

from typing import Any

from .layout import TableDecode, decode
from .types import (
    Array,
    BitGroup,
    Bytes,
    Cmp,
    Dim,
    ProcedureSpec,
    Ref,
    Rest,
    TableSpec,
    When,
    bits,
    flag,
    sub,
    uint8,
    uint16,
    uint32,
)

MFG_BASE = 2048
"""EPxx = 2048 + xx, the same rule as the manufacturer table ids."""

ET11_MULTICAST_LENGTH = Dim("ET11", "mbus_multicast_message_length", 65)
BT00_RESPONSE_DATA_LENGTH = Dim("BT00", "response_data_length", 12)

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

_NUMBER_WORD = BitGroup(2, (
    bits("procedure_index", "Procedure number (bits 0..10)", 0, 10),
    flag("mfg_flag", "Manufacturer procedure (bit 11)", 11),
    bits("selector", "Response handling / selector (bits 12..15)", 12, 15,
         enum=RESPONSE_HANDLING),
))

REQUEST_HEADER = (
    _NUMBER_WORD,
    uint8("sequence", "Procedure Sequence Number (PSN)"),
)
"""BT07 bytes 0..2."""

RESPONSE_HEADER = (
    BitGroup(2, (
        bits("procedure_index", "Procedure number (bits 0..10)", 0, 10),
        flag("mfg_flag", "Manufacturer procedure (bit 11)", 11),
    )),
    uint8("sequence", "Procedure Sequence Number (PSN)"),
    uint8("result_code", "Result Code", enum=RESULT_CODES),
)
"""BT08/ET59/ET85 bytes 0..3."""

REQUEST_HEADER_SIZE = 3
RESPONSE_HEADER_SIZE = 4


def procedure_number(index: int, mfg: bool) -> int:
    """The 12-bit number (EPxx = 2048 + xx) from the C12.19 parts."""
    return (MFG_BASE if mfg else 0) + index


def procedure_tag(number: int) -> str:
    """2065 -> ``"EP17"``, 5 -> ``"BP05"``."""
    return f"EP{number - MFG_BASE:02d}" if number >= MFG_BASE else f"BP{number:02d}"


# ----------------------------------------------------------- procedures

EP17 = ProcedureSpec(MFG_BASE + 17, "EP17", "Remove MEP Device", params=(
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

EP19 = ProcedureSpec(MFG_BASE + 19, "EP19", "Post On-demand M-Bus Request", params=(
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

EP61 = ProcedureSpec(MFG_BASE + 61, "EP61", "MEP Transaction Lock Control", params=(
    uint8("lock", "Lock", enum={0: "Unlock", 1: "Lock"}),
), response=(), result_codes={
    3: "T08_CONFLICT: the other MEP client holds the lock",
    5: "T08_NO_AUTH: not executed by a MEP client",
})

PROCEDURES: dict[int, ProcedureSpec] = {p.number: p for p in (EP17, EP19, EP61)}
"""Procedure number (12-bit, EPxx = 2048 + xx) -> spec."""

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
RESPONSE_TABLES = frozenset({"BT08", "ET59", "ET85"})


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
    base = {"BT08": BT08, "ET59": ET59, "ET85": ET85}.get(tag, ET59)
    if proc is None:
        return base
    return TableSpec(tag, f"{base.name}: {proc.tag} {proc.name}",
                     (*RESPONSE_HEADER, *proc.response))


def _number_of(data: bytes, offset: int) -> int | None:
    if offset != 0 or len(data) < 2:
        return None
    word = int.from_bytes(data[:2], "little")
    return procedure_number(word & 0x7FF, bool(word >> 11 & 1))


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
