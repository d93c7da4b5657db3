"""scapy layers for MEP frames, made from the declarations in :mod:`.framespec`.

Each kind of frame is one scapy class, length field included, all
subclasses of :class:`MEP`; ``MEP(raw)`` picks the class from the body's
first byte (``dispatch_hook``), so a frame costs one scapy packet.  Further
frames in the same capture record are kept as a Raw payload (so no byte is
lost) and dissected by :attr:`MEP.next_frame`, one after the other: nesting
them as payloads would recurse once per frame, and a record of a few hundred
frames would exhaust Python's recursion limit.

A response carries no table id and no hint of whether it answers an RC4 or
a TLS request: alone it is classified by its shape (:func:`guess_response`);
:mod:`.context` re-dissects it with the class its request calls for
(:func:`response_class`).  Both follow the declared response rules.

Every class names its Wireshark abbreviation prefix in ``wireshark_prefix``;
a field's abbreviation is ``prefix + "." + field name``, which is how the
Lua generator and the differential tests agree with scapy.  Malformed input
never raises: the field classes stop where the bytes run out, and each
packet records what is wrong in ``problems`` (texts from
:data:`.framespec.PROBLEMS`); ``malformed`` says whether there is anything.
"""

from __future__ import annotations

import contextlib
from typing import Any

from scapy.fields import Field, PacketListField
from scapy.packet import Packet, Raw

from . import framespec as fs
from .catalog.types import Ref
from .framespec import (  # noqa: F401 - the frame constants, re-exported
    ALL_REQUEST_CODES,
    AUTH_FAILURE,
    BAUD,
    DIGEST_LEN,
    LEN_LEN,
    MAX_BODY,
    MAX_READ,
    MAX_RESPONSE_CODE,
    NO_PERMISSION,
    NOT_POSSIBLE,
    OK,
    PROBLEMS,
    PSK_IDENTITY_AT,
    PSK_IDENTITY_LEN,
    PSK_KEY_IDS,
    READ_CODES,
    REQUEST_CODES,
    RESPONSE_CODES,
    SEQ_LEN,
    SEQUENCE_ERROR,
    TABLE_ERROR,
    TLS_CLIENT_KEY_EXCHANGE,
    TLS_CONTENT_TYPES,
    TLS_HANDSHAKE,
    TLS_RECORD_MAJOR,
    TLS_REQUEST_CODES,
    TLS_RESPONSE_CODES,
    TLS_VERSIONS,
    UNRECOGNIZED,
    UNSUPPORTED,
    WRITE_CODES,
    FrameSpec,
    Num,
    Octets,
    Records,
    Tail,
)
from .tables import table_label, table_tag

# ------------------------------------------------------------------ fields


def _stopped(pkt: Packet) -> list | None:
    """The fields found missing so far in this dissection (None: not dissecting)."""
    return getattr(pkt, "_missing", None)


def _stop(pkt: Packet, name: str) -> None:
    """Note ``name`` as missing; its value is None."""
    missing = _stopped(pkt)
    if missing is not None:
        missing.append(name)
    return None


class NumField(Field):
    """A :class:`.framespec.Num`: big-endian, absent (None) from where the bytes ran out.

    A count left as None when building is the length of the field it counts.
    """

    __slots__ = ["spec", "size"]

    def __init__(self, spec: Num):
        self.spec, self.size = spec, spec.size
        super().__init__(spec.name, spec.default, fmt=f"{spec.size}s")

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, Any]:
        n = self.size
        if len(s) < n or pkt._missing:  # (set by MEPPacket.pre_dissect)
            return s, _stop(pkt, self.name)
        return s[n:], int.from_bytes(s[:n], "big")

    def i2m(self, pkt: Packet | None, x: Any) -> int:
        target = self.spec.length_of
        if x is None and pkt is not None and target in pkt.fields_desc_names():
            return len(pkt.getfieldval(target) or b"")
        return x or 0

    def addfield(self, pkt: Packet, s: bytes, val: Any) -> bytes:
        return s + self.i2m(pkt, val).to_bytes(self.spec.size, "big")

    def i2len(self, pkt: Packet | None, x: Any) -> int:
        return self.spec.size

    def i2repr(self, pkt: Packet | None, x: Any) -> str:
        if x is None:
            return "None"
        if self.spec.table:
            return f"{table_label(x)} (0x{x:04X})"
        if self.spec.values is not None:
            return fs.code_name(self.spec, x) if x in self.spec.values else f"0x{x:X}"
        return f"0x{x:0{2 * self.spec.size}X}" if self.spec.hex else str(x)


class OctetsField(Field):
    """A :class:`.framespec.Octets`: fixed, sized by an earlier field, or up to a trailer.

    It never takes a negative slice: a run cut short keeps what is there.
    """

    __slots__ = ["spec", "keep", "ref", "fixed"]

    def __init__(self, spec: Octets):
        self.spec = spec
        n = spec.n
        self.keep = n.keep if isinstance(n, Tail) else None
        self.ref = n.path if isinstance(n, Ref) else None
        self.fixed = n if isinstance(n, int) else None
        super().__init__(spec.name, spec.default, fmt="s")

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, Any]:
        if pkt._missing:  # (set by MEPPacket.pre_dissect)
            return s, _stop(pkt, self.name)
        if self.keep is not None:
            n = max(0, len(s) - self.keep)
        elif self.ref is not None:
            n = max(0, pkt.getfieldval(self.ref) or 0)
        else:
            n = self.fixed
        return s[n:], s[:n]

    def addfield(self, pkt: Packet, s: bytes, val: Any) -> bytes:
        return s + (val or b"")

    def i2len(self, pkt: Packet | None, x: Any) -> int:
        return len(x or b"")

    def i2repr(self, pkt: Packet | None, x: Any) -> str:
        return "None" if x is None else bytes(x).hex()


class RecordListField(PacketListField):
    """A run of records of one class, parsed while the bytes look like one."""

    __slots__ = ["record_cls"]

    def __init__(self, name: str, record_cls: type) -> None:
        super().__init__(name, [], next_cls_cb=lambda p, lst, cur, rem: (
            record_cls if looks_like_record(rem) else None
        ))
        self.record_cls = record_cls

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, Any]:
        if _stopped(pkt):
            return s, _stop(pkt, self.name)
        return super().getfield(pkt, s)


def looks_like_record(b: bytes) -> bool:
    """Whether bytes start with a TLS record header (known type, version 3.x)."""
    return len(b) >= 5 and b[0] in TLS_CONTENT_TYPES and b[1] == TLS_RECORD_MAJOR


# ------------------------------------------------------------------ checks


def checks_of(spec: FrameSpec) -> list[tuple]:
    """The consistency checks a declaration implies: ``("count", num, octets)``
    for a count of a run up to a trailer, ``("cut", num, octets)`` for a run
    sized by a field, ``("trailing", records, octets)``."""
    out = []
    for f in spec.fields:
        if isinstance(f, Num) and f.length_of and spec.field(f.length_of) is not None:
            target = spec.field(f.length_of)
            out.append(("cut" if isinstance(target.n, Ref) else "count", f.name, target.name))
    if spec.trailing_check:
        recs = next(f for f in spec.fields if isinstance(f, Records))
        out.append(("trailing", recs.name, "data"))
    return out


def check_problem(kind: str, a: str, b: str, fields: dict) -> str | None:
    """The problem a check finds in decoded ``fields``, or None."""
    va, vb = fields.get(a), fields.get(b)
    if va is None or vb is None:
        return None
    if kind == "count" and va != len(vb):
        return PROBLEMS["count"] % (a, va, len(vb), b)
    if kind == "cut" and len(vb) < va:
        return PROBLEMS["cut"] % (b, len(vb), va)
    if kind == "trailing" and va and vb:
        return PROBLEMS["trailing"] % len(vb)
    return None


# ------------------------------------------------------------------ packets


class MEPPacket(Packet):
    """Base of every MEP layer: its declaration, a Wireshark prefix and a list of problems."""

    __slots__ = ["_problems", "_missing"]
    spec: FrameSpec
    wireshark_prefix = "mep"
    min_len = 0
    checks: tuple = ()

    def fields_desc_names(self) -> set[str]:
        return self._names

    def pre_dissect(self, s: bytes) -> bytes:
        object.__setattr__(self, "_missing", [])  # a slot: scapy's __setattr__ is slow
        if len(s) < self.min_len:
            self.flag(PROBLEMS["short"] % (len(s), self.name, self.min_len))
        return s

    def post_dissect(self, s: bytes) -> bytes:
        if self._missing:
            self.flag(PROBLEMS["missing"] % ", ".join(self._missing))
        for check in self.checks:
            problem = check_problem(*check, self.fields)
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

    def info(self, table=table_tag, opened: bool = False) -> str:
        """The declaration's Info template filled in; ``table`` renders table ids;
        ``opened``: a TLS frame's template for when its records were opened."""
        spec = self.spec
        out = []
        for literal, name, conv in (_OPENED if opened else _PARTS)[spec.name]:
            out.append(literal)
            if name is None:
                continue
            v = self.getfieldval(name)
            if conv == "name":
                out.append(fs.code_name(spec.field(name), v))
            elif conv == "hex32":
                out.append("None" if v is None else f"0x{v:08X}")
            elif conv == "table":
                out.append("?" if v is None else table(v))
            elif conv == "list":
                out.append(", ".join(r.mysummary() for r in v) if v else
                           fs.INFO["records_empty"] % len(self.getfieldval("data") or b""))
            else:
                out.append(str(v))
        return "".join(out)

    def mysummary(self) -> str:
        return self.info()


OTHER_LINKS: list = []
"""Recognisers of records that are no MEP frame: ``f(raw) -> class or None``,
asked when the first byte cannot start a MEP frame (C12.18 packets on a
shared UART register one, :mod:`.c1218frames`)."""
_HIGHEST_LENGTH_BYTE = MAX_BODY >> 8


class WholeBody(MEPPacket):
    """A layer whose bytes after its fields are its own, not another layer's: they are
    kept as Raw and flagged as left over (a MEP frame, a TLS plaintext, a C12.18 service)."""

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return s, b""

    def do_dissect_payload(self, s: bytes) -> None:
        if s:
            self.flag(PROBLEMS["left_over"] % len(s))
            self.add_payload(Raw(s))


class MEP(WholeBody):
    """A MEP frame.  ``MEP(raw)`` returns the subclass that fits the body.

    Built frames fill in ``length`` (and count fields) when left as None.
    """

    __slots__ = ["_rest", "_next"]
    name = "MEP"

    @classmethod
    def dispatch_hook(cls, _pkt: bytes | None = None, *args, **kwargs) -> type[Packet]:
        if cls is not MEP or not _pkt:
            return cls
        if _pkt[0] > _HIGHEST_LENGTH_BYTE and not kwargs.get("_internal"):
            # no MEP frame starts so: another link's record? (not a record's later
            # frames, which next_frame cuts out as MEP, _internal)
            for recognise in OTHER_LINKS:
                other = recognise(_pkt)
                if other is not None:
                    return other
        if len(_pkt) < LEN_LEN:
            return cls
        length = (_pkt[0] << 8) | _pkt[1]
        if length == 0:
            return MEPAlert
        if len(_pkt) == LEN_LEN:
            return cls
        return body_class(_pkt[LEN_LEN : LEN_LEN + length])

    # dissection: cut the record at the length field, keep what follows
    def pre_dissect(self, s: bytes) -> bytes:
        rest = b""
        if len(s) >= LEN_LEN:
            length = (s[0] << 8) | s[1]
            if length > MAX_BODY:
                self.flag(PROBLEMS["too_long"] % (length, MAX_BODY))
            end = LEN_LEN + length
            if len(s) < end:
                self.flag(PROBLEMS["truncated"] % (len(s) - LEN_LEN, length))
            rest, s = s[end:], s[:end]
        object.__setattr__(self, "_rest", rest)
        if rest:  # the next frames: found by next_frame when asked
            with contextlib.suppress(AttributeError):
                object.__delattr__(self, "_next")
        else:  # the usual record: one frame, no next
            object.__setattr__(self, "_next", None)
        object.__setattr__(self, "_missing", [])
        if len(s) < self.min_len:
            self.flag(PROBLEMS["short"] % (len(s), self.name, self.min_len))
        return s

    def do_dissect_payload(self, s: bytes) -> None:
        super().do_dissect_payload(s)
        rest = getattr(self, "_rest", b"")
        if rest:
            self.add_payload(Raw(rest))  # the next frames: see next_frame

    def post_build(self, p: bytes, pay: bytes) -> bytes:
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
            frames.append(MEP(rest[at:end], _internal=1))
            at = end
        frames.append(None)
        for k in range(len(frames) - 1):
            frames[k]._next = frames[k + 1]
        self._next = frames[0]
        return self._next

    def hashret(self) -> bytes:
        """Requests and the responses that may answer them hash alike: RC4 with
        RC4, TLS with TLS (a response names nothing more of its request)."""
        return _CHANNEL.get(self.spec.family, b"")

    def answers(self, other: Packet) -> int:
        """Whether this response is what ``other``'s response rule gives for its code."""
        rules = RESPONSE_RULES.get(type(other).__name__)
        if rules is None or self.spec.family not in fs.RESPONSE_KINDS:
            return 0
        code = self.getfieldval(self.spec.fields[1].name)
        return int(rules.get(code, rules.get(None)) == type(self).__name__)


_CHANNEL = {"request": b"RC4", "response": b"RC4", "tls_request": b"TLS", "tls_response": b"TLS"}
RESPONSE_RULES = fs.response_rules()
GUESS_RULES = fs.guess_rules()
_PARTS = {name: fs.template_parts(s.info) for name, s in fs.SPECS.items()}
_OPENED = {name: fs.template_parts(s.opened) for name, s in fs.SPECS.items() if s.opened}


class _RC4Request(MEP):
    """RC4-secured requests (code, code data, sequence number, digest)."""


class _RC4Response(MEP):
    """RC4-secured responses (code, code data, digest)."""


class _TLSFrame(MEP):
    """TLS requests and responses (code and TLS records)."""


class MEPTLSRecord(MEPPacket):
    """A TLS record header and its (opaque) content."""

    name = "TLS Record"

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return b"", s

    def post_build(self, p: bytes, pay: bytes) -> bytes:
        return p + pay

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
        text = self.info()
        psk = self.psk_identity
        if psk:
            text += fs.INFO["psk"] % (psk[0], PSK_KEY_IDS.get(psk[1], psk[1]))
        return text


class MEPPlain(WholeBody):
    """A C12.18 request or response as a TLS session carries it (no length field,
    no sequence number, no digest): the RC4 kinds' declarations less the trailer
    (:func:`.framespec.plain_kind`)."""


_BASES = {"request": _RC4Request, "response": _RC4Response, "tls_request": _TLSFrame,
          "tls_response": _TLSFrame}


def _scapy_fields(spec: FrameSpec) -> list[Field]:
    out: list[Field] = []
    for f in spec.fields:
        if isinstance(f, Num):
            out.append(NumField(f))
        elif isinstance(f, Octets):
            out.append(OctetsField(f))
        else:
            out.append(RecordListField(f.name, CLASSES[f.record]))
    return out


def _setup(cls: type, spec: FrameSpec) -> type:
    cls.spec = spec
    cls.fields_desc = _scapy_fields(spec)
    cls._names = {f.name for f in spec.fields}
    cls.min_len = spec.min_len
    cls.checks = tuple(checks_of(spec))
    cls.wireshark_prefix = spec.prefix
    cls.has_offset = "offset" in cls._names
    return cls


CLASSES: dict[str, type[MEPPacket]] = {}
"""Every frame class (and the TLS record's) by name."""
CLASSES["MEPTLSRecord"] = _setup(MEPTLSRecord, fs.TLS_RECORD)
CLASSES["MEP"] = _setup(MEP, fs.SPECS["MEP"])
for _spec in (*fs.FRAMES[1:], *fs.PLAIN_FRAMES):
    _base = MEP if _spec.family in ("alert", "unknown") else _BASES.get(_spec.family, MEPPlain)
    _cls = type(_spec.name, (_base,), {"__module__": __name__, "name": _spec.title})
    CLASSES[_spec.name] = _setup(_cls, _spec)
    globals()[_spec.name] = CLASSES[_spec.name]
# the generated classes, named for importers and type checkers
MEPAlert = CLASSES["MEPAlert"]
MEPFullTableRead = CLASSES["MEPFullTableRead"]
MEPPartialTableRead = CLASSES["MEPPartialTableRead"]
MEPFullTableWrite = CLASSES["MEPFullTableWrite"]
MEPPartialTableWrite = CLASSES["MEPPartialTableWrite"]
MEPReadResponse = CLASSES["MEPReadResponse"]
MEPWriteResponse = CLASSES["MEPWriteResponse"]
MEPErrorResponse = CLASSES["MEPErrorResponse"]
MEPSequenceResponse = CLASSES["MEPSequenceResponse"]
MEPTLSRequest = CLASSES["MEPTLSRequest"]
MEPTLSResponse = CLASSES["MEPTLSResponse"]
MEPUnknown = CLASSES["MEPUnknown"]

_BY_CODE = {code: CLASSES[s.name] for s in fs.FRAMES for code in s.codes}
RC4_REQUESTS: dict[int, type[MEP]] = {
    code: cls for code, cls in _BY_CODE.items() if cls.spec.family == "request"
}


# --- class selection ----------------------------------------------------------


def guess_response(body: bytes) -> type[MEP]:
    """Class of a response body judged by its shape alone (no request known)."""
    for name, shape in GUESS_RULES[body[0]]:
        if (shape is None or (shape == "records" and looks_like_record(body[1:]))
                or len(body) == shape):
            return CLASSES[name]
    raise AssertionError("every guess list ends with an unconditional kind")


def response_class(request: Packet | type[Packet], body: bytes) -> type[MEP]:
    """Class of a response body given the request (or the request's class) it answers."""
    rules = RESPONSE_RULES[(request if isinstance(request, type) else type(request)).__name__]
    return CLASSES[rules.get(body[0] if body else None, rules[None])]


def plain_request(plain: bytes) -> MEPPacket:
    """A TLS request plaintext dissected as the table request its code names."""
    name = fs.PLAIN_BY_CODE.get(plain[0], fs.PLAIN_OTHER) if plain else fs.PLAIN_OTHER
    return CLASSES[name](plain)


def plain_response(request: MEPPacket | None, plain: bytes) -> MEPPacket:
    """A TLS response plaintext dissected in the light of its (opened) request."""
    rules = RESPONSE_RULES.get(type(request).__name__) if plain else None
    name = rules.get(plain[0], rules[None]) if rules else fs.PLAIN_OTHER
    return CLASSES[name](plain)


def body_class(body: bytes) -> type[MEP]:
    """Class of a frame by its body's first byte; responses by their shape."""
    if not body:
        return MEP
    code = body[0]
    if code in _BY_CODE:
        return _BY_CODE[code]
    if code <= MAX_RESPONSE_CODE:
        return guess_response(body)
    return MEPUnknown


def frame_of(cls: type[MEP], body: bytes) -> MEP:
    """Dissect a body (without length field) as a frame of class ``cls``."""
    return cls(len(body).to_bytes(2, "big") + body)
