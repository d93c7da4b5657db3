"""scapy layers for MEP frames.

A frame is a 2-byte big-endian length and a body of that many bytes
(guide, chapter 2).  Length 0 is the alert sequence the meter sends on its
own.  Bodies are RC4-secured C12.18 requests/responses (code, code data,
4-byte sequence on requests, 8-byte digest) or TLS requests/responses (code
and TLS records).

Each kind of frame is one scapy class, length field included, all
subclasses of :class:`MEP`; ``MEP(raw)`` picks the class from the body's
first byte (``dispatch_hook``), so a frame costs one scapy packet.  Further
frames in the same capture record are kept as a Raw payload (so no byte is
lost) and dissected by :attr:`MEP.next_frame`, one after the other: nesting
them as payloads would recurse once per frame, and a record of a few hundred
frames would exhaust Python's recursion limit.

A response carries no table id and no hint of whether it answers an RC4 or
a TLS request: alone it is classified by its shape (:func:`guess_response`);
:mod:`.context` re-dissects it with the class its request calls for.

Every class names its Wireshark abbreviation prefix in ``wireshark_prefix``;
a field's abbreviation is ``prefix + "." + field name``, which
is how the Lua generator and the differential tests agree with scapy.
Malformed input never raises: each packet records what is wrong in
``problems``; ``malformed`` says whether there is anything.
"""

from __future__ import annotations

from scapy.fields import (
    ByteEnumField,
    PacketListField,
    ShortField,
    StrField,
    ThreeBytesField,
    XIntField,
    XShortEnumField,
    XStrField,
    XStrFixedLenField,
    XStrLenField,
)
from scapy.packet import Packet, Raw

from .tables import table_label, table_tag

MAX_BODY = 476
"""Largest body a frame may carry (the length field excludes itself)."""

BAUD = 9600
"""The MEP port's line speed (8N1): capture default and response-deadline arithmetic."""

LEN_LEN = 2
SEQ_LEN = 4
DIGEST_LEN = 8
MAX_READ = MAX_BODY - 1 - 2 - DIGEST_LEN
"""Most table bytes one read response carries (code, count and digest besides): 465."""

REQUEST_CODES = {
    0x30: "Full Table Read",
    0x3F: "Partial Table Read",
    0x40: "Full Table Write",
    0x4F: "Partial Table Write",
}
TLS_REQUEST_CODES = {
    0x57: "TLS Terminate",
    0x58: "TLS Handshake",
    0x59: "TLS Handshake Continue",
    0x80: "TLS Table",
}
OK, UNRECOGNIZED, UNSUPPORTED, NO_PERMISSION, NOT_POSSIBLE, TABLE_ERROR = range(6)
AUTH_FAILURE = 0x0B
"""Neither key verifies the request; the answer goes out in clear."""
SEQUENCE_ERROR = 0x0C
"""Wrong sequence number; the answer carries the one the meter expects."""
RESPONSE_CODES = {
    OK: "OK",
    UNRECOGNIZED: "Unrecognized request",
    UNSUPPORTED: "Unsupported request",
    NO_PERMISSION: "No permission for specified request",
    NOT_POSSIBLE: "Requested operation not possible",
    TABLE_ERROR: "Table operation not possible",
    AUTH_FAILURE: "Authentication failure",
    SEQUENCE_ERROR: "Invalid sequence number",
}
TLS_RESPONSE_CODES = {
    0x00: "Success",
    0x01: "TLS error",
    0x03: "Invalid identity or key",
    0x0A: "Invalid service sequence state",
}
MAX_RESPONSE_CODE = max(RESPONSE_CODES)
"""Response codes run 0x00..0x0C, below every request code."""
ALL_REQUEST_CODES = frozenset(REQUEST_CODES) | frozenset(TLS_REQUEST_CODES)
"""First body bytes that mark a client-to-meter frame; responses use 0x00..0x0C."""
READ_CODES = frozenset({0x30, 0x3F})
WRITE_CODES = frozenset({0x40, 0x4F})

TLS_CONTENT_TYPES = {
    20: "Change Cipher Spec",
    21: "Alert",
    22: "Handshake",
    23: "Application Data",
    24: "Heartbeat",
}
TLS_VERSIONS = {0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}
TLS_HANDSHAKE = 22
TLS_CLIENT_KEY_EXCHANGE = 0x10
PSK_IDENTITY_AT = 6
"""Offset of the PSK identity in a ClientKeyExchange: type (1), length (3), identity length (2)."""
PSK_IDENTITY_LEN = 3
"""A MEP PSK identity: client id (2 bytes, least significant first) and key id."""
PSK_KEY_IDS = {0: "MBK", 1: "MAK"}
"""Key id in the PSK identity a MEP client sends (guide, PSK Identity Hint)."""


def _hex32(v: int | None) -> str:
    return "None" if v is None else f"0x{v:08X}"


class MEPPacket(Packet):
    """Base of every MEP layer: a Wireshark prefix and a list of problems."""

    __slots__ = ["_problems"]
    wireshark_prefix = "mep"
    min_len = 0
    """Bytes this packet needs at the least (length field included for frames)."""
    checks: tuple[str, ...] = ()
    """Consistency checks run after dissection (names in ``CHECKS``; the Lua
    generator emits the same ones)."""

    def post_dissect(self, s: bytes) -> bytes:
        for name in self.checks:
            problem = CHECKS[name](self.fields)
            if problem:
                self.flag(problem)
        return s

    def flag(self, problem: str) -> None:
        """Record a malformation; dissection goes on."""
        try:
            self._problems.append(problem)
        except AttributeError:
            self._problems = [problem]

    @property
    def problems(self) -> list[str]:
        try:
            found = list(self._problems)
        except AttributeError:
            found = []
        for rec in self.fields.get("records") or ():
            found += rec.problems
        return found

    @property
    def malformed(self) -> bool:
        return bool(self.problems)

    def do_dissect(self, s: bytes) -> bytes:
        """scapy's field loop, made to stop (and flag) where the bytes run out.

        Fields past the end are set to None; a field cut in the middle stays
        unparsed and its bytes are left over, so nothing is lost.
        """
        raw = s
        if len(s) < self.min_len:
            self.flag(f"{len(s)} byte(s), {self.name} needs at least {self.min_len}")
        self.raw_packet_cache_fields = {}
        fields = self.fields
        missing = []
        for f in self.fields_desc:
            if missing or (not s and not isinstance(f, (StrField, PacketListField))):
                fields[f.name] = None
                missing.append(f.name)
                continue
            try:
                s, fval = f.getfield(self, s)
            except Exception:  # noqa: BLE001 - struct.error and friends on short input
                fields[f.name] = None
                missing.append(f.name)
                continue
            if f.islist or f.holds_packets:
                self.raw_packet_cache_fields[f.name] = self._raw_packet_cache_field_value(
                    f, fval, copy=True
                )
            fields[f.name] = fval
        if missing:
            self.flag("missing: " + ", ".join(missing))
        self.raw_packet_cache = raw[: -len(s)] if s else raw
        self.explicit = 1
        return s


def _check_count(f: dict) -> str | None:
    count, data = f.get("count"), f.get("data")
    if count is not None and data is not None and count != len(data):
        return f"count is {count} but {len(data)} data byte(s) follow"
    return None


def _check_tls_trailing(f: dict) -> str | None:
    if f.get("data") and f.get("records"):
        return f"{len(f['data'])} byte(s) after the last TLS record"
    return None


def _check_content_length(f: dict) -> str | None:
    length, content = f.get("length"), f.get("content")
    if length is not None and content is not None and len(content) < length:
        return f"record truncated: {len(content)} of {length} bytes"
    return None


CHECKS = {
    "count": _check_count,
    "tls_trailing": _check_tls_trailing,
    "content_length": _check_content_length,
}


class TableIdField(ShortField):
    """2-byte big-endian table id, shown with its tag and guide name."""

    def i2repr(self, pkt: Packet | None, x: int | None) -> str:
        if x is None:
            return "None"
        return f"{table_label(x)} (0x{x:04X})"


class _TailField(XStrField):
    """Variable bytes followed by a fixed-size trailer (sequence, digest).

    Unlike ``StrField(remain=…)`` it never takes a negative slice when the
    body is shorter than the trailer.
    """

    __slots__ = ["trailer"]

    def __init__(self, name: str, default: bytes, trailer: int):
        super().__init__(name, default)
        self.trailer = trailer

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, bytes]:
        cut = max(0, len(s) - self.trailer)
        return s[cut:], s[:cut]


class LenRefField(XStrLenField):
    """Bytes whose length is the value of an earlier field, named in ``ref``.

    The reference is data (not an opaque lambda) so that the Lua generator
    can emit the same rule.
    """

    __slots__ = ["ref"]

    def __init__(self, name: str, default: bytes, ref: str):
        super().__init__(name, default, length_from=lambda p: p.getfieldval(ref) or 0)
        self.ref = ref


class RecordListField(PacketListField):
    """A run of records of one class, parsed while the bytes look like one."""

    __slots__ = ["record_cls"]

    def __init__(self, name: str, record_cls: type, looks_like) -> None:
        super().__init__(name, [], next_cls_cb=lambda p, lst, cur, rem: (
            record_cls if looks_like(rem) else None
        ))
        self.record_cls = record_cls


def _length() -> ShortField:
    return ShortField("length", None)


def _digest() -> XStrFixedLenField:
    return XStrFixedLenField("digest", b"\x00" * DIGEST_LEN, DIGEST_LEN)


# --- the frame base and dispatcher ---------------------------------------


class MEP(MEPPacket):
    """A MEP frame.  ``MEP(raw)`` returns the subclass that fits the body.

    Built frames fill in ``length`` (and count fields) when left as None.
    """

    __slots__ = ["_rest", "_next"]
    name = "MEP"
    fields_desc = [_length()]
    min_len = LEN_LEN
    _count_at: int | None = None
    """Offset of a 2-byte count field that covers ``data`` (computed when None)."""

    @classmethod
    def dispatch_hook(cls, _pkt: bytes | None = None, *args, **kwargs) -> type[Packet]:
        if cls is not MEP or not _pkt or len(_pkt) < LEN_LEN:
            return cls
        length = (_pkt[0] << 8) | _pkt[1]
        if length == 0:
            return MEPAlert
        if len(_pkt) == LEN_LEN:
            return cls
        return body_class(_pkt[LEN_LEN : LEN_LEN + length])

    # dissection: cut the record at the length field, keep what follows
    def pre_dissect(self, s: bytes) -> bytes:
        self._rest, self._next = b"", None  # the usual record: one frame, no next
        if len(s) < LEN_LEN:
            return s
        length = (s[0] << 8) | s[1]
        if length > MAX_BODY:
            self.flag(f"length {length} exceeds the maximum body of {MAX_BODY} bytes")
        end = LEN_LEN + length
        if len(s) < end:
            self.flag(f"truncated: {len(s) - LEN_LEN} of {length} body bytes present")
        self._rest = s[end:]
        if self._rest:
            del self._next  # found by next_frame when asked
        return s[:end]

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return s, b""

    def do_dissect_payload(self, s: bytes) -> None:
        if s:
            self.flag(f"{len(s)} byte(s) left over in the body")
            self.add_payload(Raw(s))
        rest = getattr(self, "_rest", b"")
        if rest:
            self.add_payload(Raw(rest))  # the next frames: see next_frame

    def post_build(self, p: bytes, pay: bytes) -> bytes:
        if self._count_at is not None and self.fields.get("count") is None:
            n = len(self.data).to_bytes(2, "big")
            p = p[: self._count_at] + n + p[self._count_at + 2 :]
        if self.length is None:
            p = (len(p) - LEN_LEN).to_bytes(2, "big") + p[LEN_LEN:]
        return p + pay

    def copy(self) -> MEP:
        clone = super().copy()
        if hasattr(self, "_rest"):  # a copy of a record's first frame has its next frames too
            clone._rest = self._rest
        return clone

    # views
    @property
    def alert(self) -> bool:
        return self.length == 0

    @property
    def frame_bytes(self) -> bytes:
        """This frame's bytes as captured (or as built), without the record's later frames."""
        raw = self.original or self.raw_packet_cache or bytes(self)
        return raw[: LEN_LEN + (self.fields.get("length") or 0)]

    @property
    def body_bytes(self) -> bytes:
        """The body: this frame's bytes after the length field."""
        return self.frame_bytes[LEN_LEN:]

    @property
    def next_frame(self) -> MEP | None:
        """The next frame of the same capture record, if any.

        The first call on a record's first frame cuts the rest of the record
        into frames and dissects each on its own (a loop, so any number of
        frames works), linking each to the next.
        """
        try:
            return self._next
        except AttributeError:
            pass
        rest = getattr(self, "_rest", b"")
        frames, at, n = [], 0, len(rest)
        while at < n:
            end = at + LEN_LEN
            if end <= n:
                end += (rest[at] << 8) | rest[at + 1]
            frames.append(MEP(rest[at:end]))
            at = end
        frames.append(None)
        for k in range(len(frames) - 1):
            frames[k]._next = frames[k + 1]
        self._next = frames[0]
        return self._next

    def mysummary(self) -> str:
        return f"MEP frame len={self.length}"

    def hashret(self) -> bytes:
        return b"MEP"

    def answers(self, other: Packet) -> int:
        return 0


class MEPAlert(MEP):
    """The alert sequence: a frame of length zero, sent by the meter unasked."""

    name = "MEP Alert"
    fields_desc = [_length()]

    def mysummary(self) -> str:
        return "Alert"


# --- RC4-secured requests -------------------------------------------------


class _RC4Request(MEP):
    has_offset = False

    def _args(self) -> str:
        parts = [table_tag(self.table_id or 0)]
        if self.has_offset:
            parts.append(f"off={self.offset}")
        parts.append(f"cnt={self.count}")
        parts.append(f"seq={_hex32(self.sequence)}")
        return " ".join(parts)

    def mysummary(self) -> str:
        return f"{REQUEST_CODES.get(self.request_code, 'Request')} {self._args()}"


def _seq_digest() -> list:
    return [XIntField("sequence", 0), _digest()]


class MEPFullTableRead(_RC4Request):
    name = "MEP Full Table Read"
    min_len = LEN_LEN + 17
    fields_desc = [
        _length(),
        ByteEnumField("request_code", 0x30, REQUEST_CODES),
        TableIdField("table_id", 0),
        ShortField("count", 0),
        *_seq_digest(),
    ]


class MEPPartialTableRead(_RC4Request):
    name = "MEP Partial Table Read"
    min_len = LEN_LEN + 20
    has_offset = True
    fields_desc = [
        _length(),
        ByteEnumField("request_code", 0x3F, REQUEST_CODES),
        TableIdField("table_id", 0),
        ThreeBytesField("offset", 0),
        ShortField("count", 0),
        *_seq_digest(),
    ]


class _RC4Write(_RC4Request):
    checks = ("count",)


class MEPFullTableWrite(_RC4Write):
    name = "MEP Full Table Write"
    min_len = LEN_LEN + 17
    _count_at = 5
    fields_desc = [
        _length(),
        ByteEnumField("request_code", 0x40, REQUEST_CODES),
        TableIdField("table_id", 0),
        ShortField("count", None),
        _TailField("data", b"", SEQ_LEN + DIGEST_LEN),
        *_seq_digest(),
    ]


class MEPPartialTableWrite(_RC4Write):
    name = "MEP Partial Table Write"
    min_len = LEN_LEN + 20
    has_offset = True
    _count_at = 8
    fields_desc = [
        _length(),
        ByteEnumField("request_code", 0x4F, REQUEST_CODES),
        TableIdField("table_id", 0),
        ThreeBytesField("offset", 0),
        ShortField("count", None),
        _TailField("data", b"", SEQ_LEN + DIGEST_LEN),
        *_seq_digest(),
    ]


RC4_REQUESTS: dict[int, type[_RC4Request]] = {
    0x30: MEPFullTableRead,
    0x3F: MEPPartialTableRead,
    0x40: MEPFullTableWrite,
    0x4F: MEPPartialTableWrite,
}


# --- RC4-secured responses ------------------------------------------------


class _RC4Response(MEP):
    def answers(self, other: Packet) -> int:
        return isinstance(other, _RC4Request)

    def mysummary(self) -> str:
        code = self.response_code
        return RESPONSE_CODES.get(code, f"Response 0x{code:02X}" if code is not None else "?")


class MEPReadResponse(_RC4Response):
    name = "MEP Read Response"
    min_len = LEN_LEN + 11
    _count_at = 3
    fields_desc = [
        _length(),
        ByteEnumField("response_code", 0x00, RESPONSE_CODES),
        ShortField("count", None),
        _TailField("data", b"", DIGEST_LEN),
        _digest(),
    ]

    checks = ("count",)

    def answers(self, other: Packet) -> int:
        return isinstance(other, (MEPFullTableRead, MEPPartialTableRead))

    def mysummary(self) -> str:
        return f"{super().mysummary()} cnt={self.count}"


class MEPWriteResponse(_RC4Response):
    name = "MEP Write Response"
    min_len = LEN_LEN + 9
    fields_desc = [_length(), ByteEnumField("response_code", 0x00, RESPONSE_CODES), _digest()]

    def answers(self, other: Packet) -> int:
        return isinstance(other, (MEPFullTableWrite, MEPPartialTableWrite))


class MEPErrorResponse(_RC4Response):
    name = "MEP Error Response"
    min_len = LEN_LEN + 9
    fields_desc = [_length(), ByteEnumField("response_code", 0x01, RESPONSE_CODES), _digest()]


class MEPSequenceResponse(_RC4Response):
    name = "MEP Invalid Sequence Response"
    min_len = LEN_LEN + 13
    fields_desc = [
        _length(),
        ByteEnumField("response_code", SEQUENCE_ERROR, RESPONSE_CODES),
        XIntField("sequence", 0),
        _digest(),
    ]

    def mysummary(self) -> str:
        return f"{super().mysummary()} seq={_hex32(self.sequence)}"


# --- TLS --------------------------------------------------------------------


class MEPTLSRecord(MEPPacket):
    """A TLS record header and its (opaque) content."""

    name = "TLS Record"
    wireshark_prefix = "mep.tls.record"
    min_len = 5
    fields_desc = [
        ByteEnumField("content_type", 22, TLS_CONTENT_TYPES),
        XShortEnumField("version", 0x0303, TLS_VERSIONS),
        ShortField("length", None),
        LenRefField("content", b"", "length"),
    ]

    def post_build(self, p: bytes, pay: bytes) -> bytes:
        if self.length is None:
            p = p[:3] + len(self.content).to_bytes(2, "big") + p[5:]
        return p + pay

    checks = ("content_length",)

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return b"", s

    @property
    def psk_identity(self) -> tuple[int, int] | None:
        """(client id, key id) from a ClientKeyExchange carrying a MEP PSK identity.

        The identity is 3 bytes: the client id (2 bytes, least significant
        first) and the key id (0 MBK, 1 MAK).
        """
        c, at = self.content or b"", PSK_IDENTITY_AT
        if self.content_type != TLS_HANDSHAKE or len(c) < at + PSK_IDENTITY_LEN:
            return None
        if c[0] != TLS_CLIENT_KEY_EXCHANGE:
            return None
        if int.from_bytes(c[at - 2:at], "big") != PSK_IDENTITY_LEN:
            return None
        return c[at] | (c[at + 1] << 8), c[at + 2]

    def mysummary(self) -> str:
        text = TLS_CONTENT_TYPES.get(self.content_type, f"type {self.content_type}")
        psk = self.psk_identity
        if psk:
            text += f" (PSK client {psk[0]}, {PSK_KEY_IDS.get(psk[1], psk[1])})"
        return text


def _looks_like_record(b: bytes) -> bool:
    return len(b) >= 5 and b[0] in TLS_CONTENT_TYPES and b[1] == 3


class _TLSFrame(MEP):
    wireshark_prefix = "mep.tls"
    min_len = LEN_LEN + 1

    checks = ("tls_trailing",)

    def _records_summary(self) -> str:
        if not self.records:
            return f"{len(self.data or b'')} byte(s)"
        return ", ".join(r.mysummary() for r in self.records)


class MEPTLSRequest(_TLSFrame):
    name = "MEP TLS Request"
    fields_desc = [
        _length(),
        ByteEnumField("code", 0x80, TLS_REQUEST_CODES),
        RecordListField("records", MEPTLSRecord, _looks_like_record),
        XStrField("data", b""),
    ]

    def mysummary(self) -> str:
        return f"{TLS_REQUEST_CODES.get(self.code, 'TLS request')} [{self._records_summary()}]"


class MEPTLSResponse(_TLSFrame):
    name = "MEP TLS Response"
    fields_desc = [
        _length(),
        ByteEnumField("code", 0x00, TLS_RESPONSE_CODES),
        RecordListField("records", MEPTLSRecord, _looks_like_record),
        XStrField("data", b""),
    ]

    def answers(self, other: Packet) -> int:
        return isinstance(other, MEPTLSRequest)

    def mysummary(self) -> str:
        code = self.code
        name = TLS_RESPONSE_CODES.get(code, f"code 0x{code:02X}" if code is not None else "?")
        return f"TLS {name} [{self._records_summary()}]"


class MEPUnknown(MEP):
    """A body that starts with no known code: encrypted (no key to open it) or garbage."""

    name = "MEP Unknown Body"
    min_len = LEN_LEN + 1 + DIGEST_LEN
    fields_desc = [_length(), _TailField("data", b"", DIGEST_LEN), _digest()]

    def mysummary(self) -> str:
        return f"Unknown body, {self.length} bytes"


# --- class selection ----------------------------------------------------------


def guess_response(body: bytes) -> type[MEP]:
    """Class of a response body judged by its shape alone (no request known)."""
    code = body[0]
    if code in TLS_RESPONSE_CODES and _looks_like_record(body[1:]):
        return MEPTLSResponse
    if code == OK:
        return MEPWriteResponse if len(body) == 1 + DIGEST_LEN else MEPReadResponse
    if code == SEQUENCE_ERROR:
        return MEPSequenceResponse
    return MEPErrorResponse


def response_class(request: Packet, body: bytes) -> type[MEP]:
    """Class of a response body given the request it answers."""
    if isinstance(request, MEPTLSRequest):
        return MEPTLSResponse
    code = body[0]
    if code == OK:
        if isinstance(request, (MEPFullTableWrite, MEPPartialTableWrite)):
            return MEPWriteResponse
        return MEPReadResponse
    if code == SEQUENCE_ERROR:
        return MEPSequenceResponse
    return MEPErrorResponse


def body_class(body: bytes) -> type[MEP]:
    """Class of a frame by its body's first byte; responses by their shape."""
    if not body:
        return MEP
    code = body[0]
    if code in RC4_REQUESTS:
        return RC4_REQUESTS[code]
    if code in TLS_REQUEST_CODES:
        return MEPTLSRequest
    if code <= MAX_RESPONSE_CODE:
        return guess_response(body)
    return MEPUnknown


def frame_of(cls: type[MEP], body: bytes) -> MEP:
    """Dissect a body (without length field) as a frame of class ``cls``."""
    return cls(len(body).to_bytes(2, "big") + body)
