"""An optical probe's side of ANSI C12.18: the link layer and the session that reads tables.

:class:`OpticalLink` sends a request message in packets of the negotiated
size, each waiting for its ACK (a NAK or silence for the response timeout
sends it again, up to the retry limit), then collects the answer: every
packet is ACKed when its CRC holds and NAKed when not, a repeat (its ACK
was lost) is ACKed and dropped, a multi-packet answer is joined.  Bytes that
start no packet are skipped: on a Gen 2/3 meter the MEP traffic shares the line.

:class:`OpticalClient` runs the session: identify, negotiate, logon,
security with a password, full or partial reads (in parts when a table is
more than one answer carries), logoff, terminate.
"""

from __future__ import annotations

import time

import serial

from mepshark.capture.serialport import LineSpec, open_serial
from mepshark.dissector import c1218builders as c12
from mepshark.dissector import c1218codes as codes
from mepshark.dissector import c1218link as link
from mepshark.dissector.c1218frames import C1218Service
from mepshark.dissector.c1218timing import RESPONSE_TIMEOUT, RETRIES
from mepshark.dissector.catalog import DimensionContext
from mepshark.dissector.tables import table_tag

from .tables import TableReader

POLL = 0.02
"""How long one read of the port waits, in seconds."""


class LinkError(Exception):
    """The link gave up (no ACK, no answer); the text says what was tried."""


class ServiceError(Exception):
    """The meter answered a request with an error code (``code``)."""

    def __init__(self, code: int, service: str):
        self.code = code
        mnemonic, meaning = codes.RESPONSES.get(code, (f"0x{code:02X}", "unknown response code"))
        super().__init__(f"{service}: the meter answered {mnemonic} ({meaning})")


def answer(request: bytes, reply: bytes, what: str) -> C1218Service:
    """The meter's ``reply`` to ``request`` dissected; :class:`ServiceError` for an error
    code, ValueError when it is malformed or its table data checksum does not hold."""
    if not reply:
        raise ValueError(f"{what}: empty answer")
    msg = c12.response(request, reply)
    if msg.response_code != codes.OK:
        raise ServiceError(msg.response_code, what)
    bad = c12.problem(msg)
    if bad:
        raise ValueError(f"{what}: {bad}")
    return msg


class OpticalLink:
    """One C12.18 line: ``port`` is a device, a pty or a pyserial URL."""

    def __init__(self, port: str | serial.SerialBase, baud: int = 9600, *,
                 timeout: float = RESPONSE_TIMEOUT, retries: int = RETRIES):
        if isinstance(port, str):
            self.ser = open_serial(LineSpec(port, baud=baud), timeout=POLL)
            try:
                self.ser.reset_input_buffer()
            except (serial.SerialException, OSError):
                pass
        else:
            self.ser = port
        self.timeout = timeout
        self.retries = retries
        self.packet_size = link.DEFAULT_PACKET_SIZE
        self.toggle = 0
        self.buf = bytearray()
        self.last_packet: bytes | None = None
        """The last packet received: the meter sends it again when our ACK went missing."""
        self.stats = {"packets_sent": 0, "naks_received": 0, "timeouts": 0, "retries": 0,
                      "naks_sent": 0, "duplicates": 0, "skipped": 0}

    def close(self) -> None:
        try:
            self.ser.close()
        except (serial.SerialException, OSError):
            pass

    # --- bytes ------------------------------------------------------------------

    def _fill(self) -> bool:
        """Read what came within one poll; whether anything did."""
        waiting = self.ser.in_waiting
        data = self.ser.read(waiting or 1)
        if data:
            self.buf += data
        return bool(data)

    def _put(self, data: bytes) -> None:
        self.ser.write(data)
        self.ser.flush()

    # --- sending ----------------------------------------------------------------

    def _packets(self, message: bytes) -> list[bytes]:
        out, self.toggle = link.split(message, self.packet_size, self.toggle)
        return out

    def _send_packet(self, packet: bytes, what: str) -> None:
        """Send until ACKed; a packet arriving instead is taken as the answer having begun."""
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            self.stats["packets_sent"] += 1
            self._put(packet)
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                if not self.buf and not self._fill():
                    continue
                b = self.buf[0]
                if b == link.ACK:
                    del self.buf[0]
                    return
                if b == link.NAK:
                    del self.buf[0]
                    self.stats["naks_received"] += 1
                    break
                if b == link.STP:
                    if self._repeat_of_last():
                        continue
                    return  # the meter answers: it had the packet
                del self.buf[0]
                self.stats["skipped"] += 1
            else:
                self.stats["timeouts"] += 1
        raise LinkError(f"{what}: no ACK after {self.retries + 1} tries")

    # --- receiving --------------------------------------------------------------

    def _repeat_of_last(self) -> bool:
        """Whether the buffer starts with the last packet received again (our ACK was lost):
        then it is ACKed once more and dropped; False also while it may still be coming."""
        size = link.packet_at(self.buf)
        if not size or bytes(self.buf[:size]) != self.last_packet:
            return False
        del self.buf[:size]
        self.stats["duplicates"] += 1
        self._put(bytes([link.ACK]))
        return True

    def _receive(self, what: str) -> bytes:
        """The answer message: packets ACKed (NAKed when damaged) and joined."""
        reassembler = link.Reassembler()
        deadline = time.monotonic() + self.timeout * (self.retries + 1)
        while time.monotonic() < deadline:
            buf = self.buf
            stp = buf.find(link.STP)
            if stp != 0:
                skip = len(buf) if stp < 0 else stp
                self.stats["skipped"] += skip
                del buf[:skip]
            if buf and self._repeat_of_last():
                continue
            size = link.packet_at(buf) if buf else 0
            if size:
                raw = bytes(buf[:size])
                del buf[:size]
                self._put(bytes([link.ACK]))
                self.last_packet = raw
                message = reassembler.add(link.parse(raw))
                if reassembler.duplicate:
                    self.stats["duplicates"] += 1
                if message is not None:
                    return message
                deadline = time.monotonic() + self.timeout * (self.retries + 1)
                continue
            if buf and not link.needs_more(buf):
                if len(buf) >= link.HEADER_LEN:
                    length = int.from_bytes(buf[4:6], "big")
                    whole = link.HEADER_LEN + length + link.CRC_LEN
                    if length <= link.MAX_DATA and len(buf) >= whole:
                        del buf[:whole]  # whole but damaged: the meter sends it again
                        self.stats["naks_sent"] += 1
                        self._put(bytes([link.NAK]))
                        continue
                del buf[0]
                self.stats["skipped"] += 1
                continue
            self._fill()
        self.stats["timeouts"] += 1
        raise LinkError(f"{what}: no answer within {self.timeout * (self.retries + 1):g} s")

    def request(self, message: bytes, what: str) -> bytes:
        """Send a request message, return the answer message."""
        for packet in self._packets(message):
            self._send_packet(packet, what)
        return self._receive(what)


class OpticalClient(TableReader):
    """A C12.18 session over an :class:`OpticalLink`."""

    def __init__(self, link_: OpticalLink, password: bytes | None = None, *,
                 user: str = "mepshark", user_id: int = 1, packet_size: int = 256,
                 packets: int = 4):
        self.link = link_
        self.password = password
        self.user, self.user_id = user, user_id
        self.want_size, self.want_packets = packet_size, packets
        self.packets = link.DEFAULT_PACKETS
        self.identity: dict[str, int] = {}
        self.dims = DimensionContext()
        self.known: set[str] = set()
        self.open = False

    def call(self, message: bytes, what: str) -> C1218Service:
        """One service: the meter's answer (raises :class:`ServiceError` unless it is ok)."""
        return answer(message, self.link.request(message, what), what)

    def start(self) -> None:
        """Identify, negotiate, logon and (with a password) security."""
        ident = self.call(c12.identify(), "identify")
        self.open = True
        self.identity = {"std": ident.std, "ver": ident.ver, "rev": ident.rev}
        agreed = self.call(c12.negotiate(self.want_size, self.want_packets), "negotiate")
        self.link.packet_size = agreed.packet_size
        self.packets = agreed.nbr_packets
        self.call(c12.logon(self.user_id, self.user), "logon")
        if self.password is not None:
            self.call(c12.security(self.password), "security")

    def finish(self) -> None:
        """Logoff and terminate (what fails here is not worth an error: the session ends)."""
        if not self.open:
            return
        self.open = False
        for message, what in ((c12.logoff(), "logoff"), (c12.terminate(), "terminate")):
            try:
                self.call(message, what)
            except (LinkError, ServiceError, ValueError):
                pass

    @property
    def chunk(self) -> int:
        """Most data bytes one read answer carries with the negotiated packets."""
        return self.packets * (self.link.packet_size - link.PACKET_OVERHEAD) - c12.READ_OVERHEAD

    def read_raw(self, tid: int, offset: int | None = None, count: int | None = None) -> bytes:
        what = f"read {table_tag(tid)}"
        if offset is not None or count is not None:
            return self.call(c12.read(tid, offset or 0, count or 0), what).data
        try:
            return self.call(c12.read(tid), what).data
        except ServiceError as exc:
            if exc.code != codes.ONP:
                raise
        # Too long for one answer: partial reads until one comes back short.
        out = bytearray()
        while True:
            got = self.call(c12.read(tid, len(out), self.chunk), what).data
            out += got
            if len(got) < self.chunk:
                return bytes(out)

