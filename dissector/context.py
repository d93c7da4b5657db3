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

from .c1218context import REQUEST as C1218_REQUEST
from .c1218context import C1218Context
from .c1218frames import record_class
from .capture_format import EPB_INBOUND, EPB_OUTBOUND, UNFRAMED_COMMENT
from .catalog import DimensionContext, TableDecode, spec_for
from .catalog import decode as decode_table
from .catalog.layout import CAPTURE, DEFAULT
from .catalog.procedures import BT07 as PROCEDURE_INITIATE
from .catalog.procedures import RESPONSE_TABLES
from .catalog.procedures import decode_request as decode_procedure_call
from .catalog.procedures import decode_response as decode_procedure_result
from .catalog.registry import DIMENSION_SOURCES
from .framedecode import FrameView, decode_frame, decode_record, frame_view
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
    response_class,
)
from .framespec import BITS_PER_BYTE, COMMAND_END, INFO, NOTES, RESEND_AFTER
from .sealing import Seal, open_request, open_response
from .security import Key
from .tables import table_label
from .timing import MIN_REQUEST_SPACING, RESPONSE_TIMEOUT
from .tlsplain import Opened, TLSFollower

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
    view: FrameView
    """The frame as captured, decoded on its own (:attr:`frame` is its scapy packet)."""
    raw: bytes = b""
    """The frame's body bytes as captured (empty for an alert)."""
    packet_view: FrameView | None = None
    """The frame as understood in context (:attr:`packet` is its scapy packet)."""
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
    tls: Opened | None = field(default=None, repr=False)
    """A TLS frame's part of its session: records, the plaintext dissected."""
    _table: object = field(default=None, repr=False)
    """A TableDecode, or the (callable) way to make one on first use."""

    @property
    def frame(self) -> MEP:
        """The frame as captured, dissected on its own (a scapy packet, made on first use)."""
        return self.view.pkt

    @frame.setter
    def frame(self, pkt: MEP) -> None:
        self.view = FrameView.of_packet(pkt)

    @property
    def packet(self) -> MEP | None:
        """The frame as understood in context: re-dissected after its request,
        decrypted (a scapy packet, made on first use)."""
        v = self.packet_view
        return None if v is None else v.pkt

    @packet.setter
    def packet(self, pkt: MEP | None) -> None:
        self.packet_view = None if pkt is None else FrameView.of_packet(pkt)

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
        v = self.packet_view
        found = v.problems if v is not None else self.view.problems
        return found + self.tls.problems if self.tls is not None else found

    @property
    def malformed(self) -> bool:
        return bool(self.problems)

    @property
    def code(self) -> int | None:
        """The request or response code, as decoded in context."""
        pkt = self.packet_view
        if pkt is None or issubclass(pkt.cls, MEPUnknown):
            return None
        f = pkt.fields
        return f.get("request_code", f.get("response_code", f.get("code")))

    def summary(self) -> str:
        """One line in the style of the Wireshark Info column."""
        pkt = self.packet_view
        if self.kind == ALERT:
            text = "Alert"
        elif pkt is None:
            text = "Malformed frame"
        elif self.kind in (REQUEST, RESPONSE) and not issubclass(pkt.cls, MEPUnknown):
            text = f"{self.kind.capitalize()}: " + (
                pkt.info(table_label) if self.tls is None else self.tls.info(pkt))
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


def _fits(cls: type[MEP], raw: bytes) -> bool:
    """Whether a body of at most MAX_BODY bytes fills the layout of a frame
    class exactly: no field missing, no byte left over, counts agree."""
    return not frame_view(cls, raw).malformed


def _dims_agree(table: TableDecode, dims: DimensionContext) -> bool:
    """Whether every dimension ``table`` was laid out with has the same value
    and provenance in ``dims`` now (then decoding its bytes again gives the same)."""
    values = dims._values
    for k, used in table.dims.items():
        if k.startswith(("ref:", "local:")):
            continue
        tag, _, name = k.partition(".")
        got = values.get((tag, name))
        if got is None:
            if used.source != DEFAULT:
                return False
        elif used.source != CAPTURE or (used.value, used.frame) != (got.value, got.frame):
            return False
    return True


def _whole_ms(seconds: float) -> int:
    """Milliseconds, rounded half up from whole microseconds (the capture's
    resolution), so that float noise never flips the Info column.  In float
    arithmetic, step for step as the Lua dissector does it, so that the two
    agree even on absurd times (a timestamp of 2^64 - 1 microseconds)."""
    return math.floor((math.floor(seconds * 1e6 + 0.5) + 500) / 1000)


def _command(info: FrameInfo) -> bytes:
    """A request's code and code data: what stays the same when it is resent
    with a new sequence number.  Decrypted requests are compared in clear."""
    raw = info.packet_view.body_bytes if info.encrypted else info.raw
    return raw[:-COMMAND_END]


class CaptureContext:
    """Stateful walk over a capture's frames, in capture order.

    ``keys`` are tried in the order given; :func:`load_keys` returns them MAK
    first, as the meter tries them.  ``baud`` only serves to estimate when a
    request finished (the response timeout runs from its last byte).

    Every frame is kept in :attr:`frames`, unless ``keep`` is false: then the
    context holds only what later frames still need (the latest request, the
    dimensions), and :meth:`take_ready` hands out the frames that nothing
    later will change, in capture order.
    """

    _DIM_READS_KEPT = 1024
    """Distinct dimension-table reads remembered (a month of captures may hold
    many, if a meter's configuration changes)."""

    def __init__(self, keys: Iterable[Key] = (), baud: int = BAUD, keep: bool = True,
                 follow_tls: bool = True):
        self.keys = list(keys)
        self.tls = TLSFollower(self.keys) if follow_tls else None
        """Opens TLS sessions with the keys (off: TLS frames stay as captured)."""
        self.baud = baud
        self.frames: list[FrameInfo] = []
        self.records = 0
        self.dims = DimensionContext()
        self._dim_reads: dict[tuple, tuple] = {}
        self._pending: FrameInfo | None = None
        self._last_request: FrameInfo | None = None
        self._keep = keep
        self._held: list[FrameInfo] = []
        """From the latest request on: frames a later request may still change."""
        self._ready: list[FrameInfo] = []
        self.optical = C1218Context(self)
        self._optical_at_pending = 0
        """C12.18 records seen when the pending request was sent (see _mark_no_response)."""

    def add_packet(self, pkt: Packet, direction: int | None = None) -> list[FrameInfo]:
        """Add one capture record (one or more chained frames); return their infos.

        ``direction`` defaults to the packet's pcapng flags (``pkt.direction``).
        """
        if direction is None:
            direction = _EPB_TO_P2P.get(getattr(pkt, "direction", None) or 0)
        data = getattr(pkt, "original", None)
        if data is None:
            data = bytes(pkt)
        return self.add_record(data, float(pkt.time or 0.0), direction,
                               getattr(pkt, "comments", None))

    def add_record(self, data: bytes, t: float, direction: int | None,
                   comments: Iterable[bytes | str] | None = None) -> list[FrameInfo]:
        """Add one capture record given as its bytes, time (seconds), direction
        (:data:`TO_METER`, :data:`FROM_METER` or None) and packet comments."""
        if record_class(data) is not None:
            return [self._add_optical(data, t, direction, comments)]
        if data:
            views = decode_record(data)
        else:  # an empty record: shown as a malformed frame
            frame = MEP(b"\x00")
            frame.flag(PROBLEMS["empty"])
            views = [FrameView.of_packet(frame)]
        self.records += 1
        unframed = _unframed_reason(comments)
        infos = [self._add_frame(v, t, direction, k, unframed) for k, v in enumerate(views)]
        if not time_is_real(t):
            infos[0].expert.append(note("unreal_time", t))
        return infos

    def finish(self) -> None:
        """End of capture: a request still waiting got no response."""
        if self._pending is not None:
            self._mark_no_response(self._pending)
            self._pending = None
        self._ready += self._held
        self._held = []

    def take_ready(self) -> list[FrameInfo]:
        """(``keep=False``) The frames final since the last call, in capture order:
        all before the latest request, and every frame once :meth:`finish` ran."""
        ready, self._ready = self._ready, []
        return ready

    def __iter__(self) -> Iterator[FrameInfo]:
        return iter(self.frames)

    # --- per frame -------------------------------------------------------

    def _add_frame(
        self, view: FrameView, t: float, direction: int | None, index: int,
        unframed: str | None = None,
    ) -> FrameInfo:
        raw = view.body_bytes
        info = FrameInfo(self.records, t, view, raw, view)
        info.index = index
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
        if view.cls is MEPAlert:
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
        if self.tls is not None and info.kind is not None:
            self.tls.frame(self, info)
        if self._keep:
            self.frames.append(info)
        elif info.kind == REQUEST:  # the frames before it are final now
            self._ready += self._held
            self._held = [info]
        elif self._held:
            self._held.append(info)
        else:
            self._ready.append(info)
        return info

    def _add_optical(self, data: bytes, t: float, direction: int | None,
                     comments: Iterable[bytes | str] | None) -> FrameInfo:
        """A C12.18 packet, ACK or NAK (a shared UART, an optical probe)."""
        self.records += 1
        info = self.optical.add(data, self.records, t, direction)
        unframed = _unframed_reason(comments)
        if unframed is not None:  # e.g. a 0xEE whose packet never came
            info.unframed = unframed
            info.expert.insert(0, note("unframed", unframed))
        # Optical traffic changes no MEP frame before it except by being there
        # (a MEP request unanswered meanwhile): it waits with the held frames.
        # A C12.18 request waits for its response too (which names it, response_in).
        if self._keep:
            self.frames.append(info)
        elif info.message == C1218_REQUEST and info.retransmission_of is None:
            self._ready += self._held
            self._held = [info]
        elif self._held:
            self._held.append(info)
        else:
            self._ready.append(info)
        return info

    def _request(self, info: FrameInfo) -> None:
        self._open_request(info)
        pkt = info.packet_view
        if issubclass(pkt.cls, _RC4Request):  # a request kind may name no table
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
                and issubclass(pkt.cls, _RC4Request)
                and issubclass(prev.packet_view.cls, _RC4Request)
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
        looks_tls = issubclass(info.view.cls, MEPTLSRequest)
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
            if issubclass(info.view.cls, _RC4Request) and not _fits(info.view.cls, info.raw):
                info.packet_view = decode_frame(MEPUnknown, info.view.frame_bytes)
            if issubclass(info.packet_view.cls, MEPUnknown):
                info.expert.append(note("unopened_request"))
            else:
                info.expert.append(note("bad_request_digest"))
            return
        plain, seal = opened
        info.digest_status, info.key, info.seal = DIGEST_GOOD, seal.key.name, seal
        if seal.encrypted:
            info.encrypted = True
            info.packet_view = frame_view(body_class(plain), plain)

    def _response(self, info: FrameInfo) -> None:
        req = self._pending
        raw = info.raw
        length = info.view.fields.get("length") or 0
        if length > MAX_BODY or len(raw) < length:
            # no meter sends this: line noise or a cut frame answers nothing
            info.expert.append(note("broken"))
            return
        if req is None:
            info.expert.append(note("unpaired"))
            if issubclass(info.view.cls, _RC4Response) and len(raw) > DIGEST_LEN:
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
        if issubclass(req.packet_view.cls, (_RC4Request, MEPTLSRequest)):
            cls = response_class(req.packet_view.cls, raw)
            if info.encrypted:
                info.packet_view = frame_view(cls, raw)
            elif cls is not info.view.cls:
                info.packet_view = decode_frame(cls, info.view.frame_bytes)
        self._response_notes(info, req)
        pkt = info.packet_view
        data = pkt.fields.get("data") if issubclass(pkt.cls, _RC4Response) else None
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
        if cached is not None and cached[1] is not None and _dims_agree(cached[1], self.dims):
            # laid out the same as then: the same decode, learned from again
            table = info._table = cached[1]
        else:
            table = info.table
        if table is not None:
            self.dims.learn(table, info.number)
            if len(self._dim_reads) >= self._DIM_READS_KEPT:
                self._dim_reads.clear()
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
        pkt, code = info.packet_view, info.code
        spec = pkt.spec
        if spec.error_note and code not in (None, 0x00):
            names = spec.fields[1].values or {}
            info.expert.append(note(spec.error_note, names.get(code) or f"0x{code:02X}"))
        elif spec.at_most and code == 0x00 and req.packet_view is not None:
            mine = pkt.fields.get(spec.at_most[0])
            theirs = req.packet_view.fields.get(spec.at_most[1])
            if mine is not None and theirs is not None and mine > theirs:
                info.expert.append(note("overlong", mine, theirs))

    def _mark_no_response(self, req: FrameInfo) -> None:
        if req.response_in is None and not req.no_response:
            req.no_response = True
            req.expert.append(note("no_response"))
            if self.optical.activity != self._optical_at_pending:
                req.expert.append(note("optical_busy"))


def decode(
    packets: Iterable[Packet], keys: Iterable[Key] = (), baud: int = BAUD,
    follow_tls: bool = True,
) -> list[FrameInfo]:
    """Run a capture's packets through a fresh context; return every frame's info."""
    ctx = CaptureContext(keys, baud, follow_tls=follow_tls)
    for pkt in packets:
        ctx.add_packet(pkt)
    ctx.finish()
    return ctx.frames


def stream(
    records: Iterable[tuple[bytes, float, int | None, list | None]],
    keys: Iterable[Key] = (),
    baud: int = BAUD,
    follow_tls: bool = True,
) -> Iterator[FrameInfo]:
    """Decode capture records (bytes, time, EPB direction flags, comments) in
    context, yielding each frame once nothing later can change it.  Nothing is
    kept but what pairing needs: the caller decides which frames live on."""
    ctx = CaptureContext(keys, baud, keep=False, follow_tls=follow_tls)
    add, take, flags = ctx.add_record, ctx.take_ready, _EPB_TO_P2P
    for data, t, direction, comments in records:
        add(data, t, flags.get(direction or 0), comments)
        if ctx._ready:
            yield from take()
    ctx.finish()
    yield from take()
