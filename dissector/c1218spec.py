"""ANSI C12.18 packets and services declared as data, in framespec's vocabulary.

Two layers, both declarations:

* the link packet (:data:`LINK`): start byte, identity, control (its bits in
  :data:`CONTROL_FLAGS`), sequence number, length, data and CRC-16 (the
  facts themselves, codes and bit masks, are in :mod:`.c1218link`);
* the services inside a message (:data:`SERVICES`): one :class:`FrameSpec`
  per request form and per response layout, with the codes of
  :mod:`.c1218codes`.  A response names nothing of its request; which
  layout it has follows from the request it answers (``answers`` and
  ``answer_codes``, as for MEP).

From these :mod:`.c1218frames` makes the scapy classes and :mod:`.c1218lua`
the Lua field lists, Info templates and texts.  The texts at the end are
formatted with ``%`` in Python and ``string.format`` in Lua, so both
dissectors say the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import c1218codes as codes
from . import c1218link as link
from .catalog.types import Ref
from .framespec import NOTES as MEP_NOTES
from .framespec import FrameSpec, Num, Octets, Tail

PREFIX = "c1218"
"""The Wireshark protocol (and field prefix) of C12.18 packets."""
PROTOCOL_COLUMN = "C12.18"

# ------------------------------------------------------------------ link layer


@dataclass(frozen=True)
class Flag:
    """A bit field of the control byte: its name, mask and meaning."""

    name: str
    mask: int
    title: str


CONTROL_FLAGS = (
    Flag("multi", link.CTRL_MULTI, "Multi-packet message"),
    Flag("first", link.CTRL_FIRST, "First packet of the message"),
    Flag("toggle", link.CTRL_TOGGLE, "Toggle bit"),
    Flag("format", link.CTRL_FORMAT, "Data format"),
)

LINK = FrameSpec(
    "C1218Packet", "C12.18 Packet", "c1218_link",
    (Num("stp", 1, link.STP, hex=True),
     Num("identity", 1, hex=True),
     Num("control", 1, hex=True),
     Num("sequence", 1),
     Num("length", 2, default=None, length_of="data"),
     Octets("data", Ref("length", 0)),
     Num("crc", 2, default=None, hex=True)),
    "seq={sequence} len={length}", prefix=PREFIX,
)
"""The packet as it crosses the line.  ``crc`` is the one field sent least
significant byte first (:data:`LITTLE_ENDIAN`); ``control`` is shown bit by bit."""
LITTLE_ENDIAN = frozenset({"crc"})
CRC_OF = ("crc", ("stp", "identity", "control", "sequence", "length", "data"))
"""The CRC field and the fields it covers (c1218link.crc16, CRC-16/X.25)."""

ACK_NAK = {link.ACK: "ACK", link.NAK: "NAK"}
"""The one-byte answers to a packet."""
RECORD_STARTS = frozenset({link.STP, *ACK_NAK})
"""The first bytes that make a capture record a C12.18 one (no MEP frame starts
so).  Only a record's first byte decides: the bytes after a MEP record's first
frame are MEP frames whatever they start with (docs/c1218.md)."""

# ------------------------------------------------------------------ services

SERVICE_NAMES: dict[int, str] = {c: codes.service_name(c) for c in range(0x20, 0x80)
                                 if not codes.service_name(c).startswith("Unknown")}
RESPONSE_NAMES: dict[int, str] = {c: f"{m} ({text})" for c, (m, text) in codes.RESPONSES.items()}
BAUD_NAMES: dict[int, str] = {c: ("external" if b is None else f"{b} baud")
                              for c, b in codes.BAUD_RATES.items()}


def _service(code: int) -> Num:
    return Num("service", 1, code, SERVICE_NAMES, "service 0x%02X", hex=True)


def _response_code(code: int = codes.OK) -> Num:
    return Num("response_code", 1, code, RESPONSE_NAMES, "response 0x%02X", hex=True)


_TABLE = Num("table_id", 2, table=True, hex=True)
_OFFSET = Num("offset", 3)
_COUNT = Num("count", 2)
_CHECKSUM = Num("checksum", 1, default=None, hex=True)


def _request(name: str, title: str, code: int | tuple[int, ...], fields: tuple, info: str,
             least: int | None = None) -> FrameSpec:
    first = code if isinstance(code, int) else code[0]
    all_codes = (code,) if isinstance(code, int) else code
    return FrameSpec(name, title, "c1218_request", (_service(first), *fields), info,
                     codes=all_codes, prefix=PREFIX, least=least)


def _read(name: str, title: str, code: int, window: tuple, info: str) -> FrameSpec:
    """A read: a full one names its table only, a partial one its window and count."""
    return _request(name, title, code, (_TABLE, *window, _COUNT) if window else (_TABLE,), info)


def _write(name: str, title: str, code: int, window: tuple, info: str) -> FrameSpec:
    fields = (_TABLE, *window, Num("count", 2, default=None, length_of="data"),
              Octets("data", Ref("count", 0)), _CHECKSUM)
    return _request(name, title, code, fields, info)


def _index(n: int) -> Octets:
    return Octets("index", 2 * n, b"\x00" * 2 * n)


_INDEXED = range(codes.READ_INDEX_FIRST & 0x0F, (codes.READ_INDEX_LAST & 0x0F) + 1)
READS = (
    _read("C1218FullRead", "C12.18 Full Read", codes.READ_FULL, (), "{service:name} "
          "{table_id:table}"),
    _read("C1218PartialReadOffset", "C12.18 Partial Read (offset)", codes.READ_OFFSET,
          (_OFFSET,), "{service:name} {table_id:table} off={offset} cnt={count}"),
    *(_read(f"C1218PartialReadIndex{n}", f"C12.18 Partial Read (index, {n})",
            codes.READ_FULL + n, (_index(n),), "{service:name} {table_id:table} cnt={count}")
      for n in _INDEXED),
)
WRITES = (
    _write("C1218FullWrite", "C12.18 Full Write", codes.WRITE_FULL, (),
           "{service:name} {table_id:table} cnt={count}"),
    _write("C1218PartialWriteOffset", "C12.18 Partial Write (offset)", codes.WRITE_OFFSET,
           (_OFFSET,), "{service:name} {table_id:table} off={offset} cnt={count}"),
    *(_write(f"C1218PartialWriteIndex{n}", f"C12.18 Partial Write (index, {n})",
             codes.WRITE_FULL + n, (_index(n),), "{service:name} {table_id:table} cnt={count}")
      for n in _INDEXED),
)
_NEGOTIATE_CODES = tuple(range(codes.NEGOTIATE_FIRST, codes.NEGOTIATE_LAST + 1))
OTHER_REQUESTS = (
    _request("C1218Identify", "C12.18 Identify", codes.IDENTIFY, (), "{service:name}"),
    _request("C1218Terminate", "C12.18 Terminate", codes.TERMINATE, (), "{service:name}"),
    _request("C1218Logon", "C12.18 Logon", codes.LOGON,
             (Num("user_id", 2), Octets("user", codes.LOGON_USER_LEN, b" " * 10)),
             "{service:name} user_id={user_id}"),
    _request("C1218Security", "C12.18 Security", codes.SECURITY,
             (Octets("password", codes.PASSWORD_LEN, b"\x00" * codes.PASSWORD_LEN),),
             "{service:name}"),
    _request("C1218Logoff", "C12.18 Logoff", codes.LOGOFF, (), "{service:name}"),
    _request("C1218Negotiate", "C12.18 Negotiate", _NEGOTIATE_CODES,
             (Num("packet_size", 2), Num("nbr_packets", 1), Octets("baud_rates", Tail(0))),
             "{service:name} size={packet_size} packets={nbr_packets}"),
    _request("C1218Wait", "C12.18 Wait", codes.WAIT, (Num("wait_time", 1),),
             "{service:name} {wait_time} s"),
)
REQUESTS = (*READS, *WRITES, *OTHER_REQUESTS)

_ALL_REQUESTS = tuple(s.name for s in REQUESTS)
RESPONSES = (
    FrameSpec("C1218ReadResponse", "C12.18 Read Response", "c1218_response",
              (_response_code(), Num("count", 2, default=None, length_of="data"),
               Octets("data", Ref("count", 0)), _CHECKSUM),
              "{response_code:name} cnt={count}",
              answers=tuple(s.name for s in READS), answer_codes=(codes.OK,), prefix=PREFIX,
              at_most=("count", "count")),
    FrameSpec("C1218IdentifyResponse", "C12.18 Identify Response", "c1218_response",
              (_response_code(), Num("std", 1), Num("ver", 1), Num("rev", 1),
               Octets("features", Tail(0))),
              "{response_code:name} std={std} ver={ver} rev={rev}",
              answers=("C1218Identify",), answer_codes=(codes.OK,), prefix=PREFIX),
    FrameSpec("C1218NegotiateResponse", "C12.18 Negotiate Response", "c1218_response",
              (_response_code(), Num("packet_size", 2), Num("nbr_packets", 1),
               Num("baud_rate", 1, values=BAUD_NAMES, unknown="baud code %d")),
              "{response_code:name} size={packet_size} packets={nbr_packets} "
              "baud={baud_rate:name}",
              answers=("C1218Negotiate",), answer_codes=(codes.OK,), prefix=PREFIX),
    FrameSpec("C1218OkResponse", "C12.18 Response", "c1218_response",
              (_response_code(),), "{response_code:name}",
              answers=tuple(s.name for s in (*WRITES, *OTHER_REQUESTS)
                            if s.name not in ("C1218Identify", "C1218Negotiate")),
              answer_codes=(codes.OK,), prefix=PREFIX),
    FrameSpec("C1218ErrorResponse", "C12.18 Error Response", "c1218_response",
              (_response_code(codes.ISC), Octets("data", Tail(0))),
              "{response_code:name}", answers=_ALL_REQUESTS, answer_codes=None, prefix=PREFIX,
              error_note="error_response"),
    FrameSpec("C1218Response", "C12.18 Response (request unknown)", "c1218_response",
              (_response_code(), Octets("data", Tail(0))), "{response_code:name}",
              prefix=PREFIX, error_note="error_response"),
    FrameSpec("C1218UnknownRequest", "C12.18 Unknown Service", "c1218_request",
              (_service(0x00), Octets("data", Tail(0))), "{service:name}", prefix=PREFIX),
)
"""``C1218Response`` is a response seen without its request; ``C1218UnknownRequest``
a request code C12.18 does not define."""

SERVICES: tuple[FrameSpec, ...] = (*REQUESTS, *RESPONSES)
SPECS: dict[str, FrameSpec] = {s.name: s for s in (LINK, *SERVICES)}
CHECKSUMS = {s.name: ("checksum", "data") for s in SERVICES if s.field("checksum")}
"""Kinds whose ``checksum`` covers ``data``: the 8-bit two's complement of the
byte sum (:func:`table_checksum`)."""
SECRETS = frozenset({"password"})
"""Fields shown only as their length unless the user asks (Lua preference
``c1218.show_password``, scapy :data:`.c1218frames.SHOW_PASSWORD`)."""
MAX_RESPONSE_CODE = max(codes.RESPONSES)
"""Response codes lie below every request code: a message's first byte tells which."""
FIRST_REQUEST_CODE = codes.IDENTIFY


def table_checksum(data: bytes) -> int:
    """C12.18's table data checksum: the two's complement of the byte sum, modulo 256."""
    return (-sum(data)) & 0xFF


def response_rules() -> dict[str, dict[int | None, str]]:
    """Request kind -> {response code -> response kind}; None: every other code."""
    rules: dict[str, dict[int | None, str]] = {}
    for s in RESPONSES:
        for req in s.answers:
            for code in (None,) if s.answer_codes is None else s.answer_codes:
                rules.setdefault(req, {}).setdefault(code, s.name)
    return rules


def request_kind(code: int) -> str:
    """The request kind of a first data byte (an undefined code: the unknown service)."""
    return _BY_CODE.get(code, "C1218UnknownRequest")


_BY_CODE = {c: s.name for s in REQUESTS for c in s.codes}
BY_CODE = dict(_BY_CODE)

# ------------------------------------------------------------------ texts

PROBLEMS = {
    "cut": "cut short: %d of %d packet byte(s)",
    "too_long": "length %d exceeds C12.18's %d data bytes",
    "left_over": "%d byte(s) after the packet",
    "stray": "%d byte(s) that are no ACK or NAK",
}
"""Link-level malformations (the service's are framespec.PROBLEMS)."""
MALFORMED = "Malformed C12.18 packet: %s"

NOTES = {
    # key: (expert group, text)
    "bad_crc": ("bad_crc", "Bad CRC 0x%04X, expected 0x%04X"),
    "bad_checksum": ("bad_checksum", "Table data checksum 0x%02X, expected 0x%02X"),
    "retransmission": ("retransmission", "Retransmission of frame %d (same packet again)"),
    "nak": ("nak", "NAK: the packet in frame %d is to be sent again"),
    "nak_alone": ("nak", "NAK of a packet this capture does not hold (on a shared UART only "
                  "the meter's side is heard)"),
    "error_response": ("error_response", "Error response: %s"),
    "overlong": ("error_response", MEP_NOTES["overlong"][1]),
    "unpaired": ("unpaired", "Response with no request waiting for it"),
    # (only once the capture has shown a request: on a shared UART the probe's side is
    # not on the line, and every answer would say so)
    "segment": ("segment", "Packet %d of a multi-packet message"),
}
"""Expert notes on C12.18 packets (the MEP request's ``optical_busy`` is in framespec.NOTES)."""

INFO = {
    "ack": "ACK",
    "nak": "NAK",
    "request": "Request: ",
    "response": "Response: ",
    "segment": "Segment: seq=%d, %d byte(s)",
    "reassembled": " [reassembled from %d packets]",
    "table": " (%s)",
    "request_in": " [request in %d]",
    "retransmission": " [retransmission of %d]",
    "bad_crc": " [bad CRC]",
    "bad_checksum": " [bad checksum]",
    "malformed": " [malformed]",
    "password": "%d byte(s), hidden",
}
"""Pieces of the Info column, in this order."""
