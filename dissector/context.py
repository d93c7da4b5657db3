"""Capture context: pairs requests with responses, verifies digests, decrypts.

A MEP response names no table and does not even say whether it answers an
RC4 or a TLS request; only the request before it in the other direction
does.  :class:`CaptureContext` walks a capture in order and gives every
frame a :class:`FrameInfo` with what the frame alone cannot tell
(docs/architecture.md, "Pairing and capture context"):

* a response answers the latest unanswered request; an identical repeat of
  a request is a retry, and so is a request resent with a new sequence
  number after a 0x0C answer;
* with keys, every digest is checked the way the meter does it (MAK, then
  MBK; the plain body first, then the RC4-decrypted one) and encrypted
  bodies are decrypted and dissected;
* timing rules of the guide: no response within 500 ms, requests closer
  than 100 ms.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from scapy.packet import Packet

from .c1218context import C1218Context
from .c1218frames import C1218AckNak, C1218Packet, record_class
from .capture_format import EPB_INBOUND, EPB_OUTBOUND, UNFRAMED_COMMENT
from .catalog import DimensionContext, TableDecode, spec_for
from .catalog import decode as decode_table
from .catalog.procedures import BT07 as PROCEDURE_INITIATE
from .catalog.procedures import RESPONSE_TABLES
from .catalog.procedures import decode_request as decode_procedure_call
from .catalog.procedures import decode_response as decode_procedure_result
from .catalog.registry import DIMENSION_SOURCES
from .frames import (
    ALL_REQUEST_CODES,
    BAUD,
    DIGEST_LEN,
    LEN_LEN,
    MAX_BODY,
    MAX_RESPONSE_CODE,
    MEP,
    PROBLEMS,
    MEPAlert,
    MEPTLSRequest,
    MEPUnknown,
    _RC4Request,
    _RC4Response,
    body_class,
    frame_of,
    response_class,
)
from .framespec import BITS_PER_BYTE, COMMAND_END, INFO, NOTES, RESEND_AFTER
from .sealing import Seal, open_request, open_response
from .security import Key
from .tables import table_label
from .timing import MIN_REQUEST_SPACING, RESPONSE_TIMEOUT

# Direction, as Wireshark's pinfo.p2p_dir: 0 = sent by the client (outbound),
# 1 = sent by the meter (inbound).  pcapng EPB flags: 1 inbound, 2 outbound.
TO_METER = 0
FROM_METER = 1
DIRECTIONS = {TO_METER: "Client → Meter", FROM_METER: "Meter → Client"}
_EPB_TO_P2P = {EPB_INBOUND: FROM_METER, EPB_OUTBOUND: TO_METER}

# mep.digest.status, Wireshark's checksum convention.
DIGEST_BAD, DIGEST_GOOD, DIGEST_UNVERIFIED = 0, 1, 2
DIGEST_STATUS = {DIGEST_BAD: "Bad", DIGEST_GOOD: "Good", DIGEST_UNVERIFIED: "Unverified"}

REQUEST, RESPONSE, ALERT = "request", "response", "alert"

LATEST_TIME = 253_402_300_800.0
"""1 January 10000 UTC in Unix seconds.  A pcapng timestamp can say up to
2^64 - 1 units (year 586524 in microseconds), which no clock reads; such a
time is kept as it is and flagged (and Python's datetime cannot show it)."""


def time_is_real(t: float) -> bool:
    """Whether a capture time lies between year 1 and year 9999, as a clock's can."""
    return -62_135_596_800.0 <= t < LATEST_TIME


C1218_RECORDS = (C1218Packet, C1218AckNak)


def note(key: str, *args) -> str:
    """The text of the expert note ``key`` of :data:`.framespec.NOTES`."""
    return NOTES[key][1] % args


def _code_text(names: dict[int, str], code: int) -> str:
    return names.get(code) or f"0x{code:02X}"


def infer_direction(body_first_byte: int | None) -> int | None:
    """Direction from the first body byte: request codes are disjoint from 0x00..0x0C."""
    if body_first_byte is None:
        return None
    if body_first_byte in ALL_REQUEST_CODES:
        return TO_METER
    if body_first_byte <= MAX_RESPONSE_CODE:
        return FROM_METER
    return None


@dataclass(eq=False, slots=True)
class FrameInfo:
    """Everything known about one MEP frame once its capture context is applied."""

    number: int
    """Number of the capture record (packet) holding the frame, from 1 like Wireshark."""
    time: float
    frame: MEP
    """The frame as captured, dissected on its own."""
    raw: bytes = b""
    """The frame's body bytes as captured (empty for an alert)."""
    packet: MEP | None = None
    """The frame as understood in context: re-dissected after its request, decrypted."""
    direction: int | None = None
    direction_inferred: bool = False
    kind: str | None = None
    encrypted: bool = False
    digest_status: int | None = None
    """None where no digest applies (alerts, TLS)."""
    key: str | None = None
    request_in: int | None = None
    response_in: int | None = None
    response_time: float | None = None
    retransmission_of: int | None = None
    retried: bool = False
    no_response: bool = False
    table_id: int | None = None
    offset: int | None = None
    count: int | None = None
    expert: list[str] = field(default_factory=list)
    index: int = 0
    """Position of the frame within its record (several frames may share one)."""
    unframed: str | None = None
    """Why the capture tool could not frame these bytes (its packet comment)."""
    request: FrameInfo | None = field(default=None, repr=False)
    response: FrameInfo | None = field(default=None, repr=False)
    original: FrameInfo | None = field(default=None, repr=False)
    """For a retransmitted request: the first transmission."""
    seal: Seal | None = field(default=None, repr=False)
    """Request-side security state, kept to check and decrypt the response."""
    _table: object = field(default=None, repr=False)
    """A TableDecode, or the (callable) way to make one on first use."""

    @property
    def table(self) -> TableDecode | None:
        """The table contents this frame carries (read response data, write
        request data), decoded with the catalog and the dimensions learned
        before this frame.  Decoded on first use, except for the dimension
        tables, which the context decodes at once to learn from."""
        t = self._table
        if callable(t):
            t = self._table = t()
        return t

    @property
    def problems(self) -> list[str]:
        """Malformations of the frame (as decoded in context)."""
        return self.packet.problems if self.packet is not None else self.frame.problems

    @property
    def malformed(self) -> bool:
        return bool(self.problems)

    @property
    def code(self) -> int | None:
        """The request or response code, as decoded in context."""
        pkt = self.packet
        if pkt is None or isinstance(pkt, MEPUnknown):
            return None
        f = pkt.fields
        return f.get("request_code", f.get("response_code", f.get("code")))

    def summary(self) -> str:
        """One line in the style of the Wireshark Info column."""
        pkt = self.packet
        if self.kind == ALERT:
            text = "Alert"
        elif pkt is None:
            text = "Malformed frame"
        elif self.kind in (REQUEST, RESPONSE) and not isinstance(pkt, MEPUnknown):
            text = f"{self.kind.capitalize()}: {pkt.info(table_label)}"
            if self.kind == RESPONSE and self.table_id is not None:
                text += f" ({table_label(self.table_id)})"
        else:
            text = f"{(self.kind or 'frame').capitalize()}: {pkt.mysummary()}"
            if self.digest_status == DIGEST_BAD:
                text += INFO["unopened_keyed"]
            elif not self.encrypted:
                text += INFO["unopened"]
        if self.kind == RESPONSE and self.request_in is not None:
            text += INFO["request_in"] % (self.request_in, _whole_ms(self.response_time))
        if self.encrypted:
            text += INFO["encrypted"]
        if self.retransmission_of is not None:
            text += INFO["retransmission"] % self.retransmission_of
        if self.no_response:
            text += INFO["no_response"]
        if self.digest_status == DIGEST_BAD:
            text += INFO["bad_digest"]
        if self.malformed:
            text += INFO["malformed"]
        return text


def _unframed_reason(comments) -> str | None:
    """The reason in a capture record's 'unframed' comment, if it has one."""
    for c in comments or ():
        text = c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c)
        if text.startswith(UNFRAMED_COMMENT):
            # the file's words, shown in one line: control characters escaped
            reason = text[len(UNFRAMED_COMMENT) :]
            return "".join(c if c.isprintable() else repr(c)[1:-1] for c in reason)
    return None


def _fits(frame: MEP, raw: bytes) -> bool:
    """Whether a body of at most MAX_BODY bytes fills the layout of its frame's
    class exactly: no field missing, no byte left over, counts agree."""
    return not frame_of(type(frame), raw).malformed


def _whole_ms(seconds: float) -> int:
    """Milliseconds, rounded half up from whole microseconds (the capture's
    resolution), so that float noise never flips the Info column.  In float
    arithmetic, step for step as the Lua dissector does it, so that the two
    agree even on absurd times (a timestamp of 2^64 - 1 microseconds)."""
    return math.floor((math.floor(seconds * 1e6 + 0.5) + 500) / 1000)


def _command(info: FrameInfo) -> bytes:
    """A request's code and code data: what stays the same when it is resent
    with a new sequence number.  Decrypted requests are compared in clear."""
    raw = info.packet.body_bytes if info.encrypted else info.raw
    return raw[:-COMMAND_END]


class CaptureContext:
    """Stateful walk over a capture's frames, in capture order.

    ``keys`` are tried in the order given; :func:`load_keys` returns them MAK
    first, as the meter tries them.  ``baud`` only serves to estimate when a
    request finished (the response timeout runs from its last byte).
    """

    def __init__(self, keys: Iterable[Key] = (), baud: int = BAUD):
        self.keys = list(keys)
        self.baud = baud
        self.frames: list[FrameInfo] = []
        self.records = 0
        self.dims = DimensionContext()
        self._dim_reads: dict[tuple, tuple] = {}
        self._pending: FrameInfo | None = None
        self._last_request: FrameInfo | None = None
        self.optical = C1218Context(self)
        self._optical_at_pending = 0
        """C12.18 records seen when the pending request was sent (see _mark_no_response)."""

    def add_packet(self, pkt: Packet, direction: int | None = None) -> list[FrameInfo]:
        """Add one capture record (one or more chained frames); return their infos.

        ``direction`` defaults to the packet's pcapng flags (``pkt.direction``).
        """
        if direction is None:
            direction = _EPB_TO_P2P.get(getattr(pkt, "direction", None) or 0)
        if isinstance(pkt, C1218_RECORDS) or (
                not isinstance(pkt, MEP) and record_class(bytes(pkt)) is not None):
            self.records += 1  # a C12.18 packet, ACK or NAK (a shared UART, an optical probe)
            info = self.optical.add(pkt.original or bytes(pkt), self.records,
                                    float(pkt.time or 0.0), direction)
            unframed = _unframed_reason(getattr(pkt, "comments", None))
            if unframed is not None:  # e.g. a 0xEE whose packet never came
                info.unframed = unframed
                info.expert.insert(0, note("unframed", unframed))
            self.frames.append(info)
            return [info]
        frame = pkt if isinstance(pkt, MEP) else MEP(bytes(pkt))
        if not frame.original:
            frame = MEP(b"\x00")  # an empty record: shown as a malformed frame
            frame.flag(PROBLEMS["empty"])
        t = float(pkt.time or 0.0)
        self.records += 1
        unframed = _unframed_reason(getattr(pkt, "comments", None))
        infos = []
        while frame is not None:
            infos.append(self._add_frame(frame, t, direction, len(infos), unframed))
            frame = frame.next_frame
        if not time_is_real(t):
            infos[0].expert.append(note("unreal_time", t))
        return infos

    def finish(self) -> None:
        """End of capture: a request still waiting got no response."""
        if self._pending is not None:
            self._mark_no_response(self._pending)
            self._pending = None

    def __iter__(self) -> Iterator[FrameInfo]:
        return iter(self.frames)

    # --- per frame -------------------------------------------------------

    def _add_frame(
        self, frame: MEP, t: float, direction: int | None, index: int, unframed: str | None = None
    ) -> FrameInfo:
        raw = frame.body_bytes
        info = FrameInfo(self.records, t, frame, raw, frame)
        info.index = index
        self.frames.append(info)
        first = raw[0] if raw else None
        if direction is None:
            direction = infer_direction(first)
            info.direction_inferred = direction is not None
        info.direction = direction
        if unframed is not None:
            # The capture tool's comment says why; the frame-level checks in
            # _response keep such bytes out of pairing on both dissectors alike
            # (the Lua side cannot afford to read packet comments).
            info.unframed = unframed
            info.expert.append(note("unframed", unframed))
        if isinstance(frame, MEPAlert):
            info.kind = ALERT
            info.expert.append(note("alert"))
        elif first is None:
            pass
        elif direction == TO_METER:
            info.kind = REQUEST
            self._request(info)
        elif direction == FROM_METER:
            info.kind = RESPONSE
            self._response(info)
        return info

    def _request(self, info: FrameInfo) -> None:
        self._open_request(info)
        pkt = info.packet
        if isinstance(pkt, _RC4Request):  # a request kind may name no table
            f = pkt.fields
            info.table_id, info.count = f.get("table_id"), f.get("count")
            info.offset = f.get("offset")
            if f.get("data") and info.table_id is not None:
                info._table = self._table_decoder(info.table_id, f["data"], info.offset or 0)
        prev = self._last_request
        if prev is not None:
            if prev.raw == info.raw or (
                prev.response is not None
                and prev.response.code in RESEND_AFTER
                and isinstance(pkt, _RC4Request)
                and isinstance(prev.packet, _RC4Request)
                and _command(info) == _command(prev)
            ):
                original = prev.original or prev
                info.original = original
                info.retransmission_of = original.number
                info.retried = original.retried = True
                info.expert.append(note("retransmission", original.number))
            gap = info.time - prev.time
            if gap < MIN_REQUEST_SPACING:
                info.expert.append(note("spacing", gap * 1000, MIN_REQUEST_SPACING * 1000))
        if self._pending is not None:
            self._mark_no_response(self._pending)
        self._pending = info
        self._optical_at_pending = self.optical.activity
        self._last_request = info

    def _open_request(self, info: FrameInfo) -> None:
        """Check the digest with each key, plain first, then decrypted.

        Any request body may be RC4-encrypted, whatever its first byte looks
        like; one that looks like TLS and opens with no key is taken as TLS
        (no digest), any other as an RC4 request whose digest is bad.
        """
        if len(info.raw) <= DIGEST_LEN:
            return
        looks_tls = isinstance(info.frame, MEPTLSRequest)
        if not self.keys:
            if not looks_tls:
                info.digest_status = DIGEST_UNVERIFIED
            return
        opened = open_request(info.raw, self.keys)
        if opened is None:
            if looks_tls:
                return
            info.digest_status = DIGEST_BAD
            # No key verifies it, plain or decrypted: a plain request with a
            # wrong digest (a client with another key; the meter answers 0x0B)
            # or ciphertext under a key not configured.  A plain request fills
            # its code's layout exactly (a read's fixed length, a write's
            # count); ciphertext whose first byte happens to be a request code
            # almost never does.  So one that fits is shown as the request it
            # reads as, what the client asked in vain, and one that does not
            # as an unknown body, rather than a made-up table, count and
            # offset that its answer would inherit.  (A read's ciphertext that
            # starts with its own code fits by chance, 1 in 256; without keys
            # nothing tells ciphertext from a plain request, so nothing is
            # decided then.)
            if isinstance(info.frame, _RC4Request) and not _fits(info.frame, info.raw):
                info.packet = MEPUnknown(info.frame.frame_bytes)
            if isinstance(info.packet, MEPUnknown):
                info.expert.append(note("unopened_request"))
            else:
                info.expert.append(note("bad_request_digest"))
            return
        plain, seal = opened
        info.digest_status, info.key, info.seal = DIGEST_GOOD, seal.key.name, seal
        if seal.encrypted:
            info.encrypted = True
            info.packet = frame_of(body_class(plain), plain)

    def _response(self, info: FrameInfo) -> None:
        req = self._pending
        raw = info.raw
        length = info.frame.fields.get("length") or 0
        if length > MAX_BODY or len(raw) < length:
            # no meter sends this: line noise or a cut frame answers nothing
            info.expert.append(note("broken"))
            return
        if req is None:
            info.expert.append(note("unpaired"))
            if isinstance(info.frame, _RC4Response) and len(raw) > DIGEST_LEN:
                info.digest_status = DIGEST_UNVERIFIED
            return
        self._pending = None
        info.request, req.response = req, info
        info.request_in, req.response_in = req.number, info.number
        info.response_time = info.time - req.time
        info.retried = req.retried
        info.table_id, info.offset, info.count = req.table_id, req.offset, req.count
        deadline = RESPONSE_TIMEOUT + (len(req.raw) + LEN_LEN) * BITS_PER_BYTE / self.baud
        if info.response_time > deadline:
            info.expert.append(note("late", info.response_time * 1000, RESPONSE_TIMEOUT * 1000))
        if req.seal is not None:
            raw, ok, info.encrypted = open_response(raw, req.seal)
            info.digest_status = DIGEST_GOOD if ok else DIGEST_BAD
            if ok:
                info.key = req.key
            else:
                info.expert.append(note("bad_response_digest"))
        elif req.digest_status is not None and len(raw) > DIGEST_LEN:
            info.digest_status = DIGEST_UNVERIFIED
        if isinstance(req.packet, (_RC4Request, MEPTLSRequest)):
            cls = response_class(req.packet, raw)
            if info.encrypted:
                info.packet = frame_of(cls, raw)
            elif cls is not type(info.frame):
                info.packet = cls(info.frame.frame_bytes)
        self._response_notes(info, req)
        data = info.packet.fields.get("data") if isinstance(info.packet, _RC4Response) else None
        if data and info.code == 0x00 and req.table_id is not None:
            full = req.offset is None
            info._table = self._table_decoder(req.table_id, data, req.offset or 0, full)
            spec = spec_for(req.table_id)
            if spec is not None and spec.tag in DIMENSION_SOURCES:
                self._learn_dimensions(info, (req.table_id, req.offset, data))

    def _learn_dimensions(self, info: FrameInfo, key: tuple) -> None:
        """Decode a dimension table now and learn from it.

        Clients re-read the same dimension tables (BT00, BT21, ET11) with the
        same contents; an identical read under the same dimensions reuses the
        earlier decode instead of walking the layout again.
        """
        cached = self._dim_reads.get(key)
        if cached is not None and cached[0] is self.dims.view()._values:
            info._table = cached[1]
            return
        table = info.table
        if table is not None:
            self.dims.learn(table, info.number)
            self._dim_reads[key] = (self.dims.view()._values, table)

    def _table_decoder(self, table_id: int, data: bytes, offset: int, full: bool = False):
        """A closure decoding the table contents (procedure tables by their header)
        with the dimensions known now."""
        spec = spec_for(table_id)
        if spec is None:
            return None
        dims = self.dims.view()
        if spec.tag == PROCEDURE_INITIATE.tag:
            return lambda: decode_procedure_call(data, offset, dims)
        if spec.tag in RESPONSE_TABLES:
            return lambda: decode_procedure_result(data, offset, dims, spec.tag)
        return lambda: decode_table(spec, data, offset, dims, full=full)

    @staticmethod
    def _response_notes(info: FrameInfo, req: FrameInfo) -> None:
        pkt, code = info.packet, info.code
        spec = pkt.spec
        if spec.error_note and code not in (None, 0x00):
            names = spec.fields[1].values or {}
            info.expert.append(note(spec.error_note, names.get(code) or f"0x{code:02X}"))
        elif spec.at_most and code == 0x00 and req.packet is not None:
            mine, theirs = pkt.fields.get(spec.at_most[0]), req.packet.fields.get(spec.at_most[1])
            if mine is not None and theirs is not None and mine > theirs:
                info.expert.append(note("overlong", mine, theirs))

    def _mark_no_response(self, req: FrameInfo) -> None:
        if req.response_in is None and not req.no_response:
            req.no_response = True
            req.expert.append(note("no_response"))
            if self.optical.activity != self._optical_at_pending:
                req.expert.append(note("optical_busy"))


def decode(
    packets: Iterable[Packet], keys: Iterable[Key] = (), baud: int = BAUD
) -> list[FrameInfo]:
    """Run a capture's packets through a fresh context; return every frame's info."""
    ctx = CaptureContext(keys, baud)
    for pkt in packets:
        ctx.add_packet(pkt)
    ctx.finish()
    return ctx.frames
