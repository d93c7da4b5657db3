"""The meter's optical port (ANSI C12.18): one request message in, one response message out.

No I/O and no clock: :mod:`.opticalport` feeds it the messages the link
layer reassembled.  It serves the same :class:`~.meter.Meter` as the MEP
server.  The session runs base -> identify -> (negotiate) -> logon ->
security -> reads, writes and procedures -> logoff -> terminate; a service
out of that order is answered isss.

Rights (optical guide, "Security and Keys"): three passwords, MK (all),
PK (no key tables, no firmware download) and RK (reads only, and not the
key, calibration or download tables, nor the few tables the guide gives to
MK and PK alone).  A handful of tables are open to anyone
(:data:`~mepshark.dissector.catalog.access.OPTICAL_OPEN`).  The hardware
lock comes before every key: a locked table or procedure is answered isc.
Which ids hold keys, calibration and downloads, and what the lock covers,
is this simulated meter's choice (the guide names kinds, not ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mepshark.dissector import c1218builders as c12
from mepshark.dissector import c1218codes as codes
from mepshark.dissector import c1218link as link
from mepshark.dissector.c1218frames import C1218Service
from mepshark.dissector.catalog.access import (
    MAK_WRITABLE,
    OPTICAL_NOT_RK,
    OPTICAL_OPEN,
)
from mepshark.dissector.catalog.procedure_calls import procedure_id
from mepshark.dissector.catalog.procedures import NUMBER_MASK
from mepshark.dissector.tables import table_id, table_tag

from . import procedures
from .exchange import Exchange
from .meter import Meter

BASE, IDENTIFIED, SESSION = "base", "identified", "session"
"""The C12.18 states: no session, identified (before logon), logged on."""

ERR, SNS, ISC, ONP, IAR, ISSS = codes.ERR, codes.SNS, codes.ISC, codes.ONP, codes.IAR, codes.ISSS

KEY_TABLES = frozenset(table_id(t) for t in ("BT42", "BT45"))
"""Where this meter would keep its passwords (C12.19's security tables); it serves neither."""
CALIBRATION_TABLES: frozenset[int] = frozenset()
"""Calibration data: neither guide names such a table (ET02 is RTC calibration to the MEP
guide but battery information, readable with RK, to the optical guide), so none here."""
DOWNLOAD_PROCEDURES = frozenset({procedure_id("EP41")})
"""Procedures that download firmware."""
BT07, BT08 = table_id("BT07"), table_id("BT08")

MAX_PACKET_SIZE = 1024
"""Largest packet this meter accepts in a negotiate."""
MAX_PACKETS = 16
"""Most packets per message this meter accepts in a negotiate."""

DEFAULT_PASSWORDS = {"MK": b"mepsim-unique-key", "PK": b"mepsim-provisioning",
                     "RK": b"mepsim-read-only"}
"""The simulator's passwords unless told otherwise (docs/optical.md)."""
DEFAULT_LOCK = ("BT15:w",)
"""The default hardware lock: the metering constants (CT/VT ratios) cannot be written."""


def _unpad(password: bytes) -> bytes:
    return password.rstrip(b" \0")


@dataclass
class Passwords:
    """The three optical passwords; None (or empty) disables one."""

    mk: bytes | None = DEFAULT_PASSWORDS["MK"]
    pk: bytes | None = DEFAULT_PASSWORDS["PK"]
    rk: bytes | None = DEFAULT_PASSWORDS["RK"]

    def match(self, password: bytes) -> str | None:
        """Which key ``password`` (as sent: padded to 20 bytes) is, or None."""
        given = _unpad(password)
        for name, value in (("MK", self.mk), ("PK", self.pk), ("RK", self.rk)):
            if value and given == _unpad(value):
                return name
        return None


@dataclass(frozen=True)
class HardwareLock:
    """What the lock forbids: ``{(id, op)}``; op r (read), w (write) or x (run a procedure)."""

    entries: frozenset[tuple[int, str]] = frozenset()

    @classmethod
    def parse(cls, items: list[str] | tuple[str, ...]) -> HardwareLock:
        """From ``["BT15:w", "ET02", "EP16"]``: a table with its ops (rw when none), a procedure.

        Raises ValueError naming the item it cannot read.
        """
        entries = set()
        for item in items:
            if item.strip().lower() in ("", "none"):
                continue
            tag, _, ops = item.strip().upper().partition(":")
            try:
                if tag[:2] == "EP":
                    if ops not in ("", "X"):
                        raise ValueError
                    entries.add((procedure_id(tag), "x"))
                    continue
                tid = table_id(tag)
                if table_tag(tid) != tag:
                    raise ValueError
            except (ValueError, KeyError):
                raise ValueError(f"hardware lock {item!r}: use BTnn or ETnn (optionally :r, :w "
                                 "or :rw) or EPnn") from None
            ops = ops.lower() or "rw"
            if not ops or set(ops) - {"r", "w"}:
                raise ValueError(f"hardware lock {item!r}: the operations are r, w or rw")
            entries.update((tid, op) for op in ops)
        return cls(frozenset(entries))

    def locks(self, number: int, op: str) -> bool:
        return (number, op) in self.entries


@dataclass
class OpticalServer:
    """The C12.18 state machine and services of the simulated meter's optical port."""

    meter: Meter
    passwords: Passwords = field(default_factory=Passwords)
    lock: HardwareLock = field(default_factory=lambda: HardwareLock.parse(DEFAULT_LOCK))
    baud_code: int = 0x06
    """The line's rate as a negotiate code (9600 unless told)."""
    state: str = BASE
    key: str | None = None
    """The key the security service accepted in this session (None: none yet)."""
    packet_size: int = link.DEFAULT_PACKET_SIZE
    packets: int = link.DEFAULT_PACKETS
    history: list[Exchange] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether a session holds the port (identified or logged on)."""
        return self.state != BASE

    @property
    def capacity(self) -> int:
        """Most bytes one message may carry with the negotiated packets."""
        return self.packets * (self.packet_size - link.PACKET_OVERHEAD)

    def reset(self) -> None:
        """Back to the base state (terminate, or the channel traffic timeout)."""
        self.state, self.key = BASE, None
        self.packet_size, self.packets = link.DEFAULT_PACKET_SIZE, link.DEFAULT_PACKETS

    def handle(self, message: bytes) -> bytes:
        """The response message to one request message."""
        req = c12.request(message)
        code = req.service
        if c12.problem(req):
            return self._answer("error", ERR)
        if code == codes.IDENTIFY:
            if self.state != BASE:
                return self._answer("sequence", ISSS)
            self.state = IDENTIFIED
            return self._done("identify", c12.identify_response())
        if code == codes.TERMINATE:
            self.reset()
            return self._done("terminate", c12.ok())
        if self.state == BASE:
            return self._answer("sequence", ISSS)
        if codes.NEGOTIATE_FIRST <= code <= codes.NEGOTIATE_LAST:
            return self._negotiate(req)
        if code == codes.WAIT:
            return self._done("wait", c12.ok())
        if code == codes.LOGON:
            if self.state != IDENTIFIED:
                return self._answer("sequence", ISSS)
            self.state = SESSION
            return self._done("logon", c12.ok())
        if self.state != SESSION:
            return self._answer("sequence", ISSS)
        if code == codes.SECURITY:
            key = self.passwords.match(req.password)
            if key is None:
                return self._answer("auth", ERR)
            self.key = key
            return self._done("auth", c12.ok())
        if code == codes.LOGOFF:
            self.state, self.key = IDENTIFIED, None
            return self._done("logoff", c12.ok())
        if code in (codes.READ_FULL, codes.READ_OFFSET):
            return self._read(req)
        if code in (codes.WRITE_FULL, codes.WRITE_OFFSET):
            return self._write(req)
        return self._answer("error", SNS)

    # --- services ---------------------------------------------------------------

    def _negotiate(self, req: C1218Service) -> bytes:
        if self.state != IDENTIFIED:
            return self._answer("sequence", ISSS)
        if req.packet_size < link.MIN_PACKET_SIZE or not req.nbr_packets:
            return self._answer("error", ERR)
        self.packet_size = min(req.packet_size, MAX_PACKET_SIZE)
        self.packets = min(req.nbr_packets, MAX_PACKETS)
        # The simulated line keeps its rate: it is accepted when proposed (or none is).
        if req.baud_rates and self.baud_code not in req.baud_rates:
            self.packet_size, self.packets = link.DEFAULT_PACKET_SIZE, link.DEFAULT_PACKETS
            return self._answer("error", ONP)
        return self._done("negotiate",
                          c12.negotiate_response(self.packet_size, self.packets, self.baud_code))

    def may_read(self, tid: int) -> bool:
        """Whether the session's key (or none) may read table ``tid``."""
        if tid in OPTICAL_OPEN or self.key == "MK":
            return True
        if self.key == "PK":
            return tid not in KEY_TABLES
        if self.key == "RK":
            return tid not in KEY_TABLES | CALIBRATION_TABLES | OPTICAL_NOT_RK
        return False

    def may_write(self, tid: int) -> bool:
        """Whether the session's key may write table ``tid`` (rights only, not the lock)."""
        if self.key == "MK":
            return True
        return self.key == "PK" and tid not in KEY_TABLES

    def may_call(self, number: int) -> bool:
        if self.key == "MK":
            return True
        return self.key == "PK" and number not in DOWNLOAD_PROCEDURES

    def _read(self, req: C1218Service) -> bytes:
        tid, ex = req.table_id, Exchange("read", codes.OK, self.key, req.table_id)
        if self.lock.locks(tid, "r") or not self.may_read(tid):
            return self._fail(ex, ISC)
        data = self.meter.read(tid)
        if data is None:
            return self._fail(ex, IAR)
        offset = req.offset if req.has_offset else 0
        if offset > len(data):
            return self._fail(ex, ONP)
        # A partial read reaching past the end gets what there is (a short answer ends it).
        chunk = data[offset : offset + req.count] if req.has_offset else data[offset:]
        if len(chunk) + c12.READ_OVERHEAD > self.capacity:
            return self._fail(ex, ONP)  # more than the negotiated packets carry
        self.history.append(ex)
        return c12.read_response(chunk)

    def _write(self, req: C1218Service) -> bytes:
        tid, ex = req.table_id, Exchange("write", codes.OK, self.key, req.table_id)
        if self.lock.locks(tid, "w") or not self.may_write(tid):
            return self._fail(ex, ISC)
        size = self.meter.size(tid)
        if size is None or tid not in MAK_WRITABLE:
            return self._fail(ex, IAR)
        offset = req.offset if req.has_offset else 0
        if offset + len(req.data) > size:
            return self._fail(ex, ONP)
        if tid == BT07 and offset == 0:
            number = int.from_bytes(req.data[:2], "little") & NUMBER_MASK
            ex = Exchange("procedure", codes.OK, self.key, number)
            if self.lock.locks(number, "x") or not self.may_call(number):
                return self._fail(ex, ISC)
            self.meter.write(tid, offset, req.data)
            out = procedures.run(self.meter, req.data, "MAK")  # the rights were checked above
            ex.code = out.result
            self.history.append(ex)
            return c12.ok()
        self.meter.write(tid, offset, req.data)
        self.history.append(ex)
        return c12.ok()

    # --- answers --------------------------------------------------------------

    def _done(self, kind: str, answer: bytes) -> bytes:
        self.history.append(Exchange(kind, codes.OK, self.key))
        return answer

    def _answer(self, kind: str, error: int) -> bytes:
        self.history.append(Exchange(kind, error, self.key))
        return c12.error(error)

    def _fail(self, ex: Exchange, error: int) -> bytes:
        ex.kind, ex.code = "error", error
        self.history.append(ex)
        return c12.error(error)
