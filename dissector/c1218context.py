"""Capture context for ANSI C12.18 packets: reassembly, retransmissions, pairing, tables.

The MEP context (:class:`.context.CaptureContext`) hands every record whose
first byte is a C12.18 one (0xEE, ACK, NAK) to :class:`C1218Context`, which
gives it a :class:`C1218Info`.  The rules, the same in the Lua dissector:

* a packet whose CRC fails, or that is cut short, joins no message;
* a packet identical to the last one from the same side is a retransmission
  (the sender saw no ACK, or a NAK) and is not counted twice;
* the packets of a multi-packet message are joined; the last one (sequence
  number 0) carries the decoded message;
* a request message is whatever the probe side sends; a response answers the
  latest request from the other side not yet answered;
* read responses and write requests carry table data, decoded by the catalog
  with the dimensions learned so far in the capture (MEP and C12.18 alike).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import c1218link as link
from . import c1218spec as cs
from .c1218frames import C1218AckNak, C1218Packet, C1218Service, request_class, response_class
from .catalog import TableDecode, spec_for
from .catalog.registry import DIMENSION_SOURCES
from .tables import table_label

TO_METER, FROM_METER = 0, 1
REQUEST, RESPONSE = "request", "response"
ACK_KIND, NAK_KIND, PACKET_KIND = "c1218_ack", "c1218_nak", "c1218_packet"


def note(key: str, *args) -> str:
    """The text of the C12.18 expert note ``key``."""
    return cs.NOTES[key][1] % args


@dataclass(eq=False)
class C1218Info:
    """What is known about one C12.18 record (a packet, an ACK or a NAK)."""

    number: int
    time: float
    packet: C1218Packet | C1218AckNak
    direction: int | None = None
    direction_inferred: bool = False
    kind: str = PACKET_KIND
    message: str | None = None
    """REQUEST or RESPONSE when this packet completes a message."""
    service: C1218Service | None = None
    segments: int = 0
    """Packets joined into the message (0: a single-packet message)."""
    crc_status: int | None = None
    checksum_status: int | None = None
    retransmission_of: int | None = None
    request_in: int | None = None
    response_in: int | None = None
    table_id: int | None = None
    offset: int | None = None
    count: int | None = None
    request: C1218Info | None = field(default=None, repr=False)
    expert: list[str] = field(default_factory=list)
    request_original: C1218Info | None = field(default=None, repr=False)
    link_problems: list[str] = field(default_factory=list)
    _table: object = field(default=None, repr=False)
    # what the MEP listing and tools ask of every record
    digest_status = None
    key = None
    encrypted = False
    unframed = None
    index = 0
    original = None
    no_response = False
    MALFORMED = cs.MALFORMED

    @property
    def table(self) -> TableDecode | None:
        t = self._table
        if callable(t):
            t = self._table = t()
        return t

    @property
    def frame(self) -> C1218Packet | C1218AckNak:
        return self.packet

    @property
    def problems(self) -> list[str]:
        found = list(self.link_problems)
        if self.service is not None:
            found += self.service.problems
        return found

    @property
    def malformed(self) -> bool:
        return bool(self.problems)

    @property
    def code(self) -> int | None:
        if self.service is None:
            return None
        f = self.service.fields
        return f.get("service", f.get("response_code"))

    def summary(self) -> str:
        """One line as the Wireshark Info column shows it."""
        if self.kind == ACK_KIND:
            return cs.INFO["ack"] + (cs.INFO["malformed"] if self.malformed else "")
        if self.kind == NAK_KIND:
            return cs.INFO["nak"] + (cs.INFO["malformed"] if self.malformed else "")
        pkt = self.packet
        if self.service is not None:
            text = cs.INFO[self.message] + self.service.info(table_label)
            if self.message == RESPONSE and self.table_id is not None:
                text += cs.INFO["table"] % table_label(self.table_id)
            if self.segments:
                text += cs.INFO["reassembled"] % self.segments
            if self.request_in is not None:
                text += cs.INFO["request_in"] % self.request_in
        else:
            length = pkt.fields.get("length")
            text = cs.INFO["segment"] % (pkt.fields.get("sequence") or 0,
                                         len(pkt.fields.get("data") or b"")
                                         if length is None else length)
        if self.retransmission_of is not None:
            text += cs.INFO["retransmission"] % self.retransmission_of
        if self.crc_status == 0:
            text += cs.INFO["bad_crc"]
        if self.checksum_status == 0:
            text += cs.INFO["bad_checksum"]
        if self.malformed:
            text += cs.INFO["malformed"]
        return text

    def flatten(self) -> list[tuple[str, object]]:
        """(abbreviation, value) pairs in the Lua tree's order."""
        from . import c1218frames
        from .wsfields import table_fields

        p = cs.PREFIX + "."
        pkt = self.packet
        out: list[tuple[str, object]] = []
        if isinstance(pkt, C1218AckNak):
            out.append((p + "ack", pkt.ack))
        else:
            f = pkt.fields
            for spec in cs.LINK.fields:
                v = f.get(spec.name)
                if v is None or (isinstance(v, bytes) and not v):
                    continue
                out.append((p + spec.name, v))
                if spec.name == "control":
                    out += [(f"{p}control.{flag.name}", pkt.flag_value(flag))
                            for flag in cs.CONTROL_FLAGS]
            if self.crc_status is not None:
                out.append((p + "crc.status", self.crc_status))
        if self.service is not None:
            for spec in self.service.spec.fields:
                v = self.service.fields.get(spec.name)
                if v is None or (isinstance(v, bytes) and not v):
                    continue
                if spec.name in cs.SECRETS and not c1218frames.SHOW_PASSWORD:
                    out.append((f"{p}{spec.name}_length", len(v)))
                else:
                    out.append((p + spec.name, v))
        if self.checksum_status is not None:
            out.append((p + "checksum.status", self.checksum_status))
        out += table_fields(self.table)
        if self.direction is not None:
            out.append((p + "direction", self.direction))
        if self.table_id is not None:
            out.append((p + "table_name", table_label(self.table_id)))
        if self.request_in is not None:
            out.append((p + "request_in", self.request_in))
        if self.response_in is not None:
            out.append((p + "response_in", self.response_in))
        if self.retransmission_of is not None:
            out.append((p + "retransmission", self.retransmission_of))
        if self.segments:
            out.append((p + "segments", self.segments))
        return out


class C1218Context:
    """The C12.18 side of a capture walk; ``owner`` is the MEP context (shared
    record numbers and dimensions, and the tables' decoders)."""

    def __init__(self, owner) -> None:
        self.owner = owner
        self.infos: list[C1218Info] = []
        self.activity = 0
        """C12.18 records seen so far: a MEP request unanswered while it grew met the optical
        session that held the shared UART."""
        self._last: dict[int | None, C1218Info] = {}
        self._parts: dict[int | None, list[C1218Info]] = {}
        self._packet_from: dict[int | None, C1218Info] = {}
        self._pending: C1218Info | None = None
        self._requests = 0

    @property
    def pending(self) -> C1218Info | None:
        """The request message still waiting for its response (its response_in may
        yet be set)."""
        return self._pending

    def add(self, raw: bytes, number: int, t: float, direction: int | None) -> C1218Info:
        self.activity += 1
        if raw[0] == link.STP:
            info = C1218Info(number, t, C1218Packet(raw), direction)
            info.link_problems = list(info.packet.problems)
            self._packet(info, raw)
        else:
            info = C1218Info(number, t, C1218AckNak(raw[:1]), direction)
            info.kind = ACK_KIND if raw[0] == link.ACK else NAK_KIND
            if len(raw) > 1:
                info.link_problems.append(cs.PROBLEMS["stray"] % (len(raw) - 1))
            if info.kind == NAK_KIND:
                before = self._packet_from.get(_other(direction))
                if before is not None:
                    info.expert.append(note("nak", before.number))
                else:
                    info.expert.append(note("nak_alone"))
        self.infos.append(info)
        return info

    # --- packets --------------------------------------------------------------

    def _packet(self, info: C1218Info, raw: bytes) -> None:
        pkt = info.packet
        ok = pkt.crc_ok
        if ok is not None:
            info.crc_status = int(ok)
            if not ok:
                info.expert.append(note("bad_crc", pkt.crc, pkt.crc_expected))
        key = info.direction
        self._packet_from[key] = info
        if info.link_problems or not ok:
            return
        last = self._last.get(key)
        if last is not None and last.packet.frame_bytes == pkt.frame_bytes:
            original = last.request_original
            info.retransmission_of = original.number
            info.expert.append(note("retransmission", original.number))
            # the same packet again: shown as the first one was, counted once
            info.request_original = original
            info.message, info.service, info.segments = (original.message, original.service,
                                                         original.segments)
            info.table_id, info.offset, info.count = (original.table_id, original.offset,
                                                      original.count)
            info.request_in, info.request = original.request_in, original.request
            info.checksum_status, info._table = original.checksum_status, original._table
            self._last[key] = info
            return
        info.request_original = info
        self._last[key] = info
        parts = self._parts.setdefault(key, [])
        if pkt.control & link.CTRL_MULTI:
            if pkt.control & link.CTRL_FIRST:
                parts.clear()
            parts.append(info)
            if pkt.sequence != 0:
                info.expert.append(note("segment", len(parts)))
                return
            data = b"".join(p.packet.data for p in parts)
            info.segments = len(parts)
            parts.clear()
        else:
            parts.clear()
            data = pkt.data
        self._message(info, data)

    def _message(self, info: C1218Info, data: bytes) -> None:
        direction = info.direction
        if direction is None and data:
            direction = TO_METER if data[0] >= cs.FIRST_REQUEST_CODE else FROM_METER
            info.direction_inferred = True
            info.direction = direction
        if direction == TO_METER:
            info.message = REQUEST
            info.service = request_class(data)(data)
            f = info.service.fields
            info.table_id, info.offset, info.count = (f.get("table_id"), f.get("offset"),
                                                      f.get("count"))
            self._pending = info
            self._requests += 1
            if f.get("data") and info.table_id is not None and "index" not in f:
                info._table = self._decoder(info, f["data"])
        else:
            info.message = RESPONSE
            req = self._pending
            if req is None or req.direction == direction:
                info.service = response_class(None, data)(data)
                if self._requests:
                    info.expert.append(note("unpaired"))
            else:
                self._pending = None
                info.request, info.request_in, req.response_in = req, req.number, info.number
                info.service = response_class(type(req.service), data)(data)
                info.table_id, info.offset, info.count = req.table_id, req.offset, req.count
                code = info.service.fields.get("response_code")
                f = info.service.fields
                if (code == 0 and f.get("data") and req.table_id is not None
                        and "index" not in req.service.fields):
                    info._table = self._decoder(info, f["data"])
                    spec = spec_for(req.table_id)
                    if spec is not None and spec.tag in DIMENSION_SOURCES:
                        self.owner._learn_dimensions(info, (req.table_id, req.offset, f["data"]))
            spec = info.service.spec
            code = info.service.fields.get("response_code")
            if spec.error_note and code not in (None, 0):
                info.expert.append(note("error_response", cs.RESPONSE_NAMES.get(
                    code, f"0x{code:02X}")))
            elif spec.at_most and code == 0 and info.request is not None:
                mine = info.service.fields.get(spec.at_most[0])
                theirs = info.request.service.fields.get(spec.at_most[1])
                if mine is not None and theirs is not None and mine > theirs:
                    info.expert.append(note("overlong", mine, theirs))
        bad = info.service.checksum_problem()
        if bad is not None:
            info.checksum_status = 0
            info.expert.append(note("bad_checksum", *bad))
        elif cs.CHECKSUMS.get(type(info.service).__name__) and \
                info.service.fields.get("checksum") is not None:
            info.checksum_status = 1

    def _decoder(self, info: C1218Info, data: bytes):
        full = info.offset is None
        return self.owner._table_decoder(info.table_id, data, info.offset or 0, full)


def _other(direction: int | None) -> int | None:
    return None if direction is None else 1 - direction
