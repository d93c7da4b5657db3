"""ANSI C12.18 link layer: the optical port's packets, and where they sit in a byte stream.

A packet is a start byte 0xEE, an identity byte, a control byte, a sequence
number (packets still to come in a multi-packet message), a 2-byte length
(most significant byte first), that many data bytes and a CRC-16 over
everything before it, sent least significant byte first.  The CRC is the
X.25 one (reflected polynomial 0x1021, initial value and final XOR 0xFFFF):
the identify request ``EE 00 00 00 00 01 20`` ends in ``13 10``.  Each packet
is acknowledged by one byte: ACK 0x06 or NAK 0x15.

Gen 2/3 meters share one UART between this port and MEP, so the tools look
for CRC-valid packets among MEP frames (:func:`packet_at`): a start byte
alone proves nothing, a whole packet whose CRC holds does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STP = 0xEE
ACK = 0x06
NAK = 0x15
HEADER_LEN = 6
CRC_LEN = 2
MAX_DATA = 8183
"""Largest data length a packet may declare (C12.18's limit)."""
PACKET_OVERHEAD = HEADER_LEN + CRC_LEN
"""Header and CRC bytes of a packet: its data may be the packet size less these."""
MIN_PACKET_SIZE = PACKET_OVERHEAD + 1
"""A packet must carry at least one data byte."""
DEFAULT_PACKET_SIZE = 64
"""Packet size (whole packet, header and CRC included) before a negotiate changes it."""
DEFAULT_PACKETS = 1
"""Packets per message before a negotiate changes it."""

CTRL_MULTI = 0x80
"""Control bit 7: the packet is part of a multi-packet message."""
CTRL_FIRST = 0x40
"""Control bit 6: the first packet of a multi-packet message."""
CTRL_TOGGLE = 0x20
"""Control bit 5: flips from one packet to the next; a repeat keeps it (a retry)."""
CTRL_FORMAT = 0x03
"""Control bits 0-1: data format (0 = C12.18)."""


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        c = byte
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/X.25 of ``data``."""
    c = 0xFFFF
    for b in data:
        c = (c >> 8) ^ _CRC_TABLE[(c ^ b) & 0xFF]
    return c ^ 0xFFFF


@dataclass
class Packet:
    """One C12.18 packet as it crossed the line, with what is wrong with it."""

    identity: int
    control: int
    sequence: int
    data: bytes
    crc: int
    problems: list[str] = field(default_factory=list)

    @property
    def crc_ok(self) -> bool:
        return self.crc == crc16(self.header + self.data)

    @property
    def header(self) -> bytes:
        return bytes([STP, self.identity, self.control, self.sequence]) + len(self.data).to_bytes(
            2, "big"
        )

    @property
    def multi(self) -> bool:
        return bool(self.control & CTRL_MULTI)

    @property
    def first(self) -> bool:
        return bool(self.control & CTRL_FIRST)

    @property
    def toggle(self) -> int:
        return 1 if self.control & CTRL_TOGGLE else 0

    def __bytes__(self) -> bytes:
        body = self.header + self.data
        return body + self.crc.to_bytes(2, "little")


def build(data: bytes, identity: int = 0, control: int = 0, sequence: int = 0) -> bytes:
    """A packet's bytes, CRC included."""
    if len(data) > MAX_DATA:
        raise ValueError(f"{len(data)} data bytes; a C12.18 packet carries at most {MAX_DATA}")
    head = bytes([STP, identity, control, sequence]) + len(data).to_bytes(2, "big")
    return head + data + crc16(head + data).to_bytes(2, "little")


def split(message: bytes, packet_size: int, toggle: int) -> tuple[list[bytes], int]:
    """A message cut into packets of at most ``packet_size`` bytes, their toggle bits
    alternating from ``toggle``; also the toggle bit the next packet is to carry."""
    room = packet_size - PACKET_OVERHEAD
    parts = [message[i : i + room] for i in range(0, len(message), room)] or [b""]
    out = []
    for k, part in enumerate(parts):
        ctrl = CTRL_TOGGLE if toggle else 0
        toggle ^= 1
        if len(parts) > 1:
            ctrl |= CTRL_MULTI | (CTRL_FIRST if k == 0 else 0)
        out.append(build(part, 0, ctrl, len(parts) - 1 - k))
    return out, toggle


def parse(raw: bytes) -> Packet | None:
    """The packet at the start of ``raw`` as far as it goes; None when it is no packet start.

    A cut or damaged packet is returned with its problems listed, never raised.
    """
    if len(raw) < 1 or raw[0] != STP:
        return None
    head = raw[:HEADER_LEN]
    if len(head) < HEADER_LEN:
        pkt = Packet(*(list(head[1:4]) + [0] * (3 - len(head[1:4]))), b"", 0)
        pkt.problems.append(f"cut short: {len(raw)} of {HEADER_LEN} header bytes")
        return pkt
    length = int.from_bytes(head[4:6], "big")
    data = raw[HEADER_LEN : HEADER_LEN + length]
    crc_raw = raw[HEADER_LEN + length : HEADER_LEN + length + CRC_LEN]
    pkt = Packet(head[1], head[2], head[3], data, int.from_bytes(crc_raw, "little"))
    if length > MAX_DATA:
        pkt.problems.append(f"length {length} exceeds C12.18's {MAX_DATA}")
    if len(data) < length or len(crc_raw) < CRC_LEN:
        pkt.problems.append(
            f"cut short: {len(data)} of {length} data bytes, {len(crc_raw)} of 2 CRC bytes"
        )
    elif not pkt.crc_ok:
        pkt.problems.append(f"bad CRC 0x{pkt.crc:04X}, expected 0x{crc16(head + data):04X}")
    return pkt


def packet_at(buf: bytes | bytearray, i: int = 0, max_data: int = MAX_DATA) -> int:
    """Size of a whole CRC-valid packet at ``buf[i]``, or 0 when there is none.

    0 also when the bytes stop before the packet could end: the caller waits
    for more (see :func:`needs_more`).
    """
    if i + HEADER_LEN > len(buf) or buf[i] != STP:
        return 0
    length = (buf[i + 4] << 8) | buf[i + 5]
    end = i + HEADER_LEN + length + CRC_LEN
    if length > max_data or end > len(buf):
        return 0
    body = bytes(buf[i : end - CRC_LEN])
    crc = buf[end - 2] | (buf[end - 1] << 8)
    return end - i if crc == crc16(body) else 0


def needs_more(buf: bytes | bytearray, i: int = 0, max_data: int = MAX_DATA) -> bool:
    """Whether bytes from ``buf[i]`` may still grow into a packet (start byte, plausible length)."""
    if i >= len(buf) or buf[i] != STP:
        return False
    if i + HEADER_LEN > len(buf):
        return True
    length = (buf[i + 4] << 8) | buf[i + 5]
    return length <= max_data and i + HEADER_LEN + length + CRC_LEN > len(buf)


class Reassembler:
    """Joins the packets of multi-packet messages and marks repeats.

    ``add(packet)`` returns the whole message when ``packet`` completes one
    (a single packet is a whole message), else None; ``duplicate`` tells
    whether the last packet repeated the one before it (same toggle bit and
    bytes: the sender did not get an ACK and sent it again).
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._last: bytes | None = None
        self.duplicate = False

    def add(self, pkt: Packet) -> bytes | None:
        raw = bytes(pkt)
        self.duplicate = raw == self._last
        self._last = raw
        if self.duplicate:
            return None
        if not pkt.multi:
            self._parts = []
            return pkt.data
        if pkt.first:
            self._parts = []
        self._parts.append(pkt.data)
        if pkt.sequence == 0:
            whole, self._parts = b"".join(self._parts), []
            return whole
        return None
