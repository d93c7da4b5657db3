"""ANSI C12.18 service messages made and read with the classes of :mod:`.c1218frames`.

What the optical simulator and client say, as :mod:`.builders` is for MEP:
each helper fills in one declared kind of :mod:`.c1218spec` (counts and
table data checksums are computed by the classes when left out) and returns
the message's bytes, which the link layer (:mod:`.c1218link`) cuts into
packets.  Reading goes the same way: :func:`request` and :func:`response`
dissect a message with the class its first byte or its request calls for,
problems flagged, never raised.  No layout is stated here.
"""

from __future__ import annotations

from scapy.packet import Packet

from . import c1218codes as codes
from .c1218frames import CLASSES, C1218Service, request_class, response_class
from .framespec import Num


def build(kind: str, **fields: object) -> bytes:
    """The bytes of a declared service kind (``"C1218FullRead"`` ...) with ``fields`` set."""
    return bytes(CLASSES[kind](**fields))


def _fixed_size(kind: str) -> int:
    return sum(f.size for f in CLASSES[kind].spec.fields if isinstance(f, Num))


READ_OVERHEAD = _fixed_size("C1218ReadResponse")
"""A read response's bytes besides its data (code, count and checksum)."""

# --- requests -------------------------------------------------------------------------------


def identify() -> bytes:
    return build("C1218Identify")


def negotiate(packet_size: int, packets: int, bauds: tuple[int, ...] = ()) -> bytes:
    """Propose a packet size, a packet count and baud-rate codes (the code counts them)."""
    if len(bauds) > codes.NEGOTIATE_LAST - codes.NEGOTIATE_FIRST:
        raise ValueError("a negotiate proposes at most 11 baud rates")
    return build("C1218Negotiate", service=codes.NEGOTIATE_FIRST + len(bauds),
                 packet_size=packet_size, nbr_packets=packets, baud_rates=bytes(bauds))


def logon(user_id: int, user: str) -> bytes:
    """Logon; the user name is cut or padded with spaces to its declared size."""
    size = CLASSES["C1218Logon"].spec.field("user").n
    name = user.encode("latin-1")[:size].ljust(size, b" ")
    return build("C1218Logon", user_id=user_id, user=name)


def security(password: bytes) -> bytes:
    """Security; a password shorter than its declared size is padded with spaces."""
    size = CLASSES["C1218Security"].spec.field("password").n
    if len(password) > size:
        raise ValueError(f"a C12.18 password has at most {size} bytes")
    return build("C1218Security", password=password.ljust(size, b" "))


def logoff() -> bytes:
    return build("C1218Logoff")


def terminate() -> bytes:
    return build("C1218Terminate")


def wait(seconds: int) -> bytes:
    return build("C1218Wait", wait_time=seconds & 0xFF)


def read(table: int, offset: int | None = None, count: int | None = None) -> bytes:
    """A full read, or an offset read when ``offset`` or ``count`` is given."""
    if offset is None and count is None:
        return build("C1218FullRead", table_id=table)
    return build("C1218PartialReadOffset", table_id=table, offset=offset or 0, count=count or 0)


def write(table: int, data: bytes, offset: int | None = None) -> bytes:
    """A full write, or an offset write when ``offset`` is given."""
    if offset is None:
        return build("C1218FullWrite", table_id=table, data=data)
    return build("C1218PartialWriteOffset", table_id=table, offset=offset, data=data)


# --- responses ------------------------------------------------------------------------------


def ok() -> bytes:
    """The answer of a service that returns nothing but its code."""
    return build("C1218OkResponse")


def error(code: int) -> bytes:
    return build("C1218ErrorResponse", response_code=code)


def read_response(data: bytes) -> bytes:
    return build("C1218ReadResponse", data=data)


def identify_response(std: int = 0, ver: int = 1, rev: int = 0) -> bytes:
    """Identify's answer: C12.18 (std 0), its version and revision, an empty feature list
    (its end marker, 0, alone)."""
    return build("C1218IdentifyResponse", std=std, ver=ver, rev=rev, features=b"\x00")


def negotiate_response(packet_size: int, packets: int, baud: int) -> bytes:
    return build("C1218NegotiateResponse", packet_size=packet_size, nbr_packets=packets,
                 baud_rate=baud)


# --- messages read --------------------------------------------------------------------------


def request(message: bytes) -> C1218Service:
    """A request message dissected by its service code (as far as it goes)."""
    return request_class(message)(message)


def response(request_message: bytes | None, message: bytes) -> C1218Service:
    """A response message dissected as the answer to ``request_message`` (None: unknown)."""
    req = None if request_message is None else request_class(request_message)
    return response_class(req, message)(message)


def problem(msg: Packet) -> str:
    """Why a dissected message cannot be used as is ('' when it can): nothing there, a
    malformation or a table data checksum that does not hold."""
    if not msg.original:
        return "empty message"
    if msg.problems:
        return "; ".join(msg.problems)
    bad = msg.checksum_problem()
    return "" if bad is None else f"table data checksum 0x{bad[0]:02X}, expected 0x{bad[1]:02X}"


def password_bytes(text: str) -> bytes:
    """A security password as a person gives it (option, environment): ``hex:…``
    for bytes, else its characters (Latin-1), at most PASSWORD_LEN bytes.  Raises
    ValueError saying what is wrong."""
    if text.startswith("hex:"):
        try:
            value = bytes.fromhex(text[4:])
        except ValueError:
            raise ValueError("not hex after 'hex:'") from None
    else:
        value = text.encode("latin-1", "replace")
    if len(value) > codes.PASSWORD_LEN:
        raise ValueError(f"a C12.18 password has at most {codes.PASSWORD_LEN} bytes")
    return value
