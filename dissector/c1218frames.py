"""scapy layers for ANSI C12.18 packets and services, made from :mod:`.c1218spec`.

:class:`C1218Packet` is one link packet as captured (``C1218Packet(raw)``);
:class:`C1218AckNak` the one-byte ACK or NAK.  A message's data (one
packet's, or several packets' joined) is dissected with the service class
its first byte (a request) or its request (a response) calls for:
:func:`request_class`, :func:`response_class`.  Like the MEP frames they
record problems instead of raising, and name their Wireshark prefix.

The security service's password is shown by its length only, unless
:data:`SHOW_PASSWORD` is set (``c1218frames.SHOW_PASSWORD = True``).
"""

from __future__ import annotations

from typing import Any

from scapy.fields import ByteEnumField, Field
from scapy.packet import Packet, Raw

from . import c1218link as link
from . import c1218spec as cs
from .frames import _PARTS, OTHER_LINKS, MEPPacket, NumField, OctetsField, WholeBody, _setup
from .framespec import PROBLEMS, template_parts

SHOW_PASSWORD = False
"""Whether scapy shows the security service's password (its length otherwise)."""


class LittleNumField(NumField):
    """A :class:`.framespec.Num` sent least significant byte first (the CRC)."""

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, Any]:
        n = self.size
        if len(s) < n or pkt._missing:
            pkt._missing.append(self.name)
            return s, None
        return s[n:], int.from_bytes(s[:n], "little")

    def addfield(self, pkt: Packet, s: bytes, val: Any) -> bytes:
        return s + (val or 0).to_bytes(self.spec.size, "little")


class SecretField(OctetsField):
    """Bytes shown as their length unless :data:`SHOW_PASSWORD` asks for them."""

    def i2repr(self, pkt: Packet | None, x: Any) -> str:
        if x is None or SHOW_PASSWORD:
            return super().i2repr(pkt, x)
        return cs.INFO["password"] % len(x)


class C1218Packet(MEPPacket):
    """One C12.18 link packet; ``crc`` left as None is computed when built."""

    name = "C12.18 Packet"
    next_frame = None  # one packet per capture record

    def pre_dissect(self, s: bytes) -> bytes:
        object.__setattr__(self, "_missing", [])
        if len(s) >= link.HEADER_LEN:
            length = (s[4] << 8) | s[5]
            need = link.HEADER_LEN + length + link.CRC_LEN
            if length > link.MAX_DATA:
                self.flag(cs.PROBLEMS["too_long"] % (length, link.MAX_DATA))
            if len(s) < need:
                self.flag(cs.PROBLEMS["cut"] % (len(s), need))
        else:
            self.flag(cs.PROBLEMS["cut"] % (len(s), link.HEADER_LEN + link.CRC_LEN))
        return s

    def post_dissect(self, s: bytes) -> bytes:
        if self._missing and len(self.original or b"") >= link.HEADER_LEN:
            self.flag(PROBLEMS["missing"] % ", ".join(self._missing))
        return s

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return s, b""

    def do_dissect_payload(self, s: bytes) -> None:
        if s:  # kept (nothing is lost); a problem after a whole packet only
            if not self._missing:
                self.flag(cs.PROBLEMS["left_over"] % len(s))
            self.add_payload(Raw(s))

    def post_build(self, p: bytes, pay: bytes) -> bytes:
        if self.crc is None:
            p = p[: -link.CRC_LEN] + link.crc16(p[: -link.CRC_LEN]).to_bytes(2, "little")
        return p + pay

    @property
    def frame_bytes(self) -> bytes:
        return bytes(self.original or bytes(self))

    @property
    def whole(self) -> bool:
        """Every byte the length announces is there (a CRC can be checked)."""
        return self.crc is not None and len(self.data or b"") == self.length

    @property
    def crc_expected(self) -> int:
        raw = self.frame_bytes
        return link.crc16(raw[: link.HEADER_LEN + len(self.data or b"")])

    @property
    def crc_ok(self) -> bool | None:
        """None when the packet is cut short, else whether its CRC holds."""
        return self.crc == self.crc_expected if self.whole else None

    def flag_value(self, flag: cs.Flag) -> int:
        c = self.control or 0
        m = flag.mask
        return (c & m) // (m & -m)


class C1218AckNak(Packet):
    """The one-byte answer to a packet: ACK 0x06 or NAK 0x15."""

    name = "C12.18 ACK/NAK"
    fields_desc = [ByteEnumField("ack", link.ACK, cs.ACK_NAK)]
    wireshark_prefix = cs.PREFIX
    next_frame = None
    problems: list[str] = []
    malformed = False

    @property
    def frame_bytes(self) -> bytes:
        return bytes(self.original or bytes(self))


class C1218Service(WholeBody):
    """Base of the service requests and responses (a message's data)."""

    def checksum_problem(self) -> tuple[int, int] | None:
        """(found, expected) when the table data checksum is wrong."""
        rule = cs.CHECKSUMS.get(type(self).__name__)
        if rule is None:
            return None
        found, data = self.getfieldval(rule[0]), self.getfieldval(rule[1])
        if found is None or data is None:
            return None
        want = cs.table_checksum(data)
        return None if found == want else (found, want)

    def post_build(self, p: bytes, pay: bytes) -> bytes:
        rule = cs.CHECKSUMS.get(type(self).__name__)
        if rule is not None and self.getfieldval(rule[0]) is None:
            p = p[:-1] + bytes([cs.table_checksum(self.getfieldval(rule[1]) or b"")])
        return p + pay


def _link_setup() -> type:
    C1218Packet.spec = cs.LINK
    fields: list[Field] = []
    for f in cs.LINK.fields:
        if f.name in cs.LITTLE_ENDIAN:
            fields.append(LittleNumField(f))
        elif isinstance(f, cs.Num):
            fields.append(NumField(f))
        else:
            fields.append(OctetsField(f))
    C1218Packet.fields_desc = fields
    C1218Packet._names = {f.name for f in cs.LINK.fields}
    C1218Packet.min_len = 0
    C1218Packet.checks = ()
    C1218Packet.wireshark_prefix = cs.PREFIX
    return C1218Packet


_link_setup()

_PARTS.update({name: template_parts(s.info) for name, s in cs.SPECS.items()})
CLASSES: dict[str, type[C1218Service]] = {}
"""Every service class by name."""
for _spec in cs.SERVICES:
    _cls = type(_spec.name, (C1218Service,), {"__module__": __name__, "name": _spec.title})
    _setup(_cls, _spec)
    _cls.fields_desc = [SecretField(f) if f.name in cs.SECRETS else fd
                        for f, fd in zip(_spec.fields, _cls.fields_desc, strict=True)]
    CLASSES[_spec.name] = _cls
    globals()[_spec.name] = _cls

RESPONSE_RULES = cs.response_rules()


def request_class(data: bytes) -> type[C1218Service]:
    """The request class of a message by its first byte."""
    return CLASSES[cs.request_kind(data[0] if data else 0)]


def response_class(request: type | None, data: bytes) -> type[C1218Service]:
    """The response class of a message given its request's class (None: unknown)."""
    if request is None:
        return CLASSES["C1218Response"]
    rules = RESPONSE_RULES[request.__name__]
    return CLASSES[rules.get(data[0] if data else None, rules[None])]


def record_class(raw: bytes) -> type[Packet] | None:
    """The C12.18 class of a capture record by its first byte (None: not C12.18)."""
    if not raw or raw[0] not in cs.RECORD_STARTS:
        return None
    return C1218Packet if raw[0] == link.STP else C1218AckNak


def build_packet(data: bytes, toggle: int = 0, identity: int = 0, multi: bool = False,
                 first: bool = False, sequence: int = 0) -> bytes:
    """A packet's bytes (CRC included) for a message's data, for builders and tests."""
    control = (link.CTRL_TOGGLE if toggle else 0) | (link.CTRL_MULTI if multi else 0)
    control |= link.CTRL_FIRST if first else 0
    return link.build(data, identity, control, sequence)


OTHER_LINKS.append(record_class)  # MEP(raw) of a C12.18 record gives its class
