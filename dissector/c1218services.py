"""ANSI C12.18 service messages built and taken apart: what the optical simulator and client say.

This is the producing side (as :mod:`.builders` is for MEP): it writes and
reads the application-layer messages that travel inside link-layer packets
(:mod:`.c1218link`), with the codes of :mod:`.c1218codes`.  Layouts, all
multi-byte numbers most significant byte first:

* identify ``20`` -> ``ok std ver rev feature* 00``;
* negotiate ``6n size(2) packets(1) baud*n`` -> ``ok size(2) packets(1) baud(1)``;
* logon ``50 user_id(2) user(10)``, security ``51 password(20)``, logoff ``52``,
  terminate ``21``, wait ``70 seconds(1)`` -> ``ok`` (or an error code);
* full read ``30 table(2)``, offset read ``3F table(2) offset(3) count(2)``
  -> ``ok count(2) data checksum(1)``;
* full write ``40 table(2) count(2) data checksum``, offset write
  ``4F table(2) offset(3) count(2) data checksum`` -> ``ok``.

The checksum is the two's complement of the sum of the data bytes, so data
plus checksum sums to zero modulo 256.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import c1218codes as codes

TABLE_LEN, OFFSET_LEN, COUNT_LEN = 2, 3, 2
DEFAULT_PACKET_SIZE = 64
"""Packet size (whole packet, header and CRC included) before a negotiate changes it."""
DEFAULT_PACKETS = 1
"""Packets per message before a negotiate changes it."""
MIN_PACKET_SIZE = 9
"""A packet must carry at least one data byte: 6 header bytes, 1 data byte, 2 CRC bytes."""
PACKET_OVERHEAD = 8
"""Header and CRC bytes of a packet: its data may be the packet size less these."""
READ_OVERHEAD = 4
"""A read response's bytes besides the data: the code, the count and the checksum."""


def checksum(data: bytes) -> int:
    """The byte that makes ``data`` sum to zero modulo 256."""
    return -sum(data) & 0xFF


def _num(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


# --- requests ---------------------------------------------------------------


def identify() -> bytes:
    return bytes([codes.IDENTIFY])


def negotiate(packet_size: int, packets: int, bauds: tuple[int, ...] = ()) -> bytes:
    """Negotiate: propose a packet size, a packet count and baud-rate codes (at most 11)."""
    if len(bauds) > codes.NEGOTIATE_LAST - codes.NEGOTIATE_FIRST:
        raise ValueError("a negotiate proposes at most 11 baud rates")
    return bytes([codes.NEGOTIATE_FIRST + len(bauds)]) + _num(packet_size, 2) + bytes(
        [packets, *bauds])


def logon(user_id: int, user: str) -> bytes:
    name = user.encode("latin-1")[: codes.LOGON_USER_LEN].ljust(codes.LOGON_USER_LEN, b" ")
    return bytes([codes.LOGON]) + _num(user_id, 2) + name


def pad_password(password: bytes) -> bytes:
    """A password as the security service carries it: 20 bytes, shorter ones padded with spaces."""
    if len(password) > codes.PASSWORD_LEN:
        raise ValueError(f"a C12.18 password has at most {codes.PASSWORD_LEN} bytes")
    return password.ljust(codes.PASSWORD_LEN, b" ")


def security(password: bytes) -> bytes:
    return bytes([codes.SECURITY]) + pad_password(password)


def logoff() -> bytes:
    return bytes([codes.LOGOFF])


def terminate() -> bytes:
    return bytes([codes.TERMINATE])


def wait(seconds: int) -> bytes:
    return bytes([codes.WAIT, seconds & 0xFF])


def read(table: int, offset: int | None = None, count: int | None = None) -> bytes:
    """A full read, or an offset read when ``offset`` or ``count`` is given."""
    if offset is None and count is None:
        return bytes([codes.READ_FULL]) + _num(table, TABLE_LEN)
    return (bytes([codes.READ_OFFSET]) + _num(table, TABLE_LEN) + _num(offset or 0, OFFSET_LEN)
            + _num(count or 0, COUNT_LEN))


def write(table: int, data: bytes, offset: int | None = None) -> bytes:
    """A full write, or an offset write when ``offset`` is given."""
    tail = _num(len(data), COUNT_LEN) + data + bytes([checksum(data)])
    if offset is None:
        return bytes([codes.WRITE_FULL]) + _num(table, TABLE_LEN) + tail
    return bytes([codes.WRITE_OFFSET]) + _num(table, TABLE_LEN) + _num(offset, OFFSET_LEN) + tail


# --- requests taken apart (the meter's side) --------------------------------------------


@dataclass
class Request:
    """A request's service and its fields; ``problem`` says why it cannot be served as is."""

    code: int
    table: int | None = None
    offset: int | None = None
    count: int | None = None
    data: bytes = b""
    packet_size: int | None = None
    packets: int | None = None
    bauds: bytes = b""
    user_id: int | None = None
    user: bytes = b""
    password: bytes = b""
    seconds: int | None = None
    problem: str = ""


def _need(msg: bytes, size: int, what: str) -> str:
    return "" if len(msg) >= size else f"{what}: {len(msg)} of {size} bytes"


def parse_request(msg: bytes) -> Request:
    """A request message's fields as far as they go (never raises)."""
    if not msg:
        return Request(-1, problem="empty message")
    code = msg[0]
    req = Request(code)
    if code in (codes.READ_FULL, codes.READ_OFFSET, codes.WRITE_FULL, codes.WRITE_OFFSET):
        head = 1 + TABLE_LEN + (OFFSET_LEN if code in (codes.READ_OFFSET, codes.WRITE_OFFSET)
                                else 0)
        if code != codes.READ_FULL:
            head += COUNT_LEN
        req.problem = _need(msg, head, codes.service_name(code))
        if req.problem:
            return req
        req.table = int.from_bytes(msg[1:3], "big")
        at = 3
        if code in (codes.READ_OFFSET, codes.WRITE_OFFSET):
            req.offset = int.from_bytes(msg[3:6], "big")
            at = 6
        if code != codes.READ_FULL:
            req.count = int.from_bytes(msg[at : at + 2], "big")
        if code in (codes.WRITE_FULL, codes.WRITE_OFFSET):
            body = msg[head:]
            if len(body) < req.count + 1:
                req.problem = f"write data: {len(body)} of {req.count} bytes and a checksum"
                return req
            req.data = body[: req.count]
            if checksum(req.data) != body[req.count]:
                req.problem = "write data checksum does not match"
    elif codes.NEGOTIATE_FIRST <= code <= codes.NEGOTIATE_LAST:
        n = code & 0x0F
        req.problem = _need(msg, 4 + n, "negotiate")
        if req.problem:
            return req
        req.packet_size = int.from_bytes(msg[1:3], "big")
        req.packets = msg[3]
        req.bauds = bytes(msg[4 : 4 + n])
    elif code == codes.LOGON:
        req.problem = _need(msg, 3 + codes.LOGON_USER_LEN, "logon")
        if req.problem:
            return req
        req.user_id = int.from_bytes(msg[1:3], "big")
        req.user = bytes(msg[3 : 3 + codes.LOGON_USER_LEN])
    elif code == codes.SECURITY:
        req.problem = _need(msg, 1 + codes.PASSWORD_LEN, "security")
        if req.problem:
            return req
        req.password = bytes(msg[1 : 1 + codes.PASSWORD_LEN])
    elif code == codes.WAIT:
        req.problem = _need(msg, 2, "wait")
        if req.problem:
            return req
        req.seconds = msg[1]
    return req


# --- responses --------------------------------------------------------------


def ok(*fields: bytes) -> bytes:
    return bytes([codes.OK]) + b"".join(fields)


def read_response(data: bytes) -> bytes:
    return ok(_num(len(data), COUNT_LEN), data, bytes([checksum(data)]))


def identify_response(std: int = 0, ver: int = 1, rev: int = 0) -> bytes:
    """Identify's answer: C12.18 (std 0), its version and revision, an empty feature list."""
    return ok(bytes([std, ver, rev, 0]))


def negotiate_response(packet_size: int, packets: int, baud: int) -> bytes:
    return ok(_num(packet_size, 2), bytes([packets, baud]))


class ServiceError(Exception):
    """The meter answered a request with an error code (``code``)."""

    def __init__(self, code: int, service: str):
        self.code = code
        mnemonic, meaning = codes.RESPONSES.get(code, (f"0x{code:02X}", "unknown response code"))
        super().__init__(f"{service}: the meter answered {mnemonic} ({meaning})")


def response_code(msg: bytes, service: str) -> bytes:
    """The fields after an ``ok`` code; raises :class:`ServiceError` for any other code."""
    if not msg:
        raise ValueError(f"{service}: empty answer")
    if msg[0] != codes.OK:
        raise ServiceError(msg[0], service)
    return msg[1:]


def parse_read_response(msg: bytes, service: str = "read") -> bytes:
    """The data of a read's answer, its count and checksum checked (ValueError when wrong)."""
    rest = response_code(msg, service)
    if len(rest) < COUNT_LEN:
        raise ValueError(f"{service}: answer cut short before its count")
    count = int.from_bytes(rest[:COUNT_LEN], "big")
    data = rest[COUNT_LEN : COUNT_LEN + count]
    if len(data) < count or len(rest) < COUNT_LEN + count + 1:
        raise ValueError(f"{service}: answer holds {len(data)} of {count} data bytes")
    if checksum(data) != rest[COUNT_LEN + count]:
        raise ValueError(f"{service}: data checksum does not match")
    return data
