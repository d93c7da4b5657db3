"""The optical port on a line: the C12.18 link layer around :class:`~.optical.OpticalServer`.

What the meter's side of the link does here:

* every whole packet is answered by one byte: ACK when its CRC holds, NAK when not;
  bytes that start no packet (line noise, MEP traffic on a shared UART) are skipped;
* a packet repeated with the same toggle bit (its ACK went missing) is ACKed
  again and not served twice;
* a request split over several packets is joined before it is served, and an
  answer longer than the negotiated packet size goes out in several packets,
  each waiting for its ACK; a NAK or no ACK within the response timeout sends
  the packet again, up to the retry limit;
* a packet cut short is dropped after the inter-character timeout, and a
  session silent for the channel traffic timeout ends;
* the first packet that starts a session is NAKed (``nak_first``): the meter
  switches its UART over to the optical port on that start byte and misses the
  packet, so the client sends it again.

``mirrors`` are more file descriptors that get a copy of everything the
optical port sends (on Gen 2/3 meters the MEP line, and so a tap on the meter's
MEP wire, hears the optical answers);
``on_session(active)`` is told when a session starts and ends.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time
from collections.abc import Callable, Sequence

from mepshark.capture.ptyline import paced
from mepshark.dissector import c1218link as link
from mepshark.dissector.c1218timing import (
    CHANNEL_TRAFFIC_TIMEOUT,
    INTER_CHARACTER_TIMEOUT,
    RESPONSE_TIMEOUT,
    RETRIES,
)

from .optical import OpticalServer
from .port import TICK, _mirror, _write_all


class OpticalPort:
    """Serve ``server`` on ``fd`` (a pty master or a local serial device, non-blocking)."""

    def __init__(self, fd: int, server: OpticalServer, *, nak_first: bool = True,
                 mirrors: Sequence[int] = (), byte_time: float = 0.0,
                 on_session: Callable[[bool], None] | None = None,
                 log: Callable[[str], None] | None = None):
        self.fd = fd
        self.server = server
        self.nak_first = nak_first
        self.mirrors = tuple(mirrors)
        self.byte_time = byte_time
        self.on_session = on_session or (lambda active: None)
        self.log = log or (lambda msg: None)
        self.stop_event = threading.Event()
        self.buf = bytearray()
        self.last_byte = 0.0
        self.last_packet = float("-inf")
        self.switched = False
        """Whether the UART is switched over to this port (a session started)."""
        self.reassembler = link.Reassembler()
        self.last_accepted: bytes | None = None
        self.toggle = 0
        self.outbox: list[bytes] = []
        """Packets of the answer still to send; the first one waits for its ACK."""
        self.sent_at = 0.0
        self.tries = 0
        self.stats = {"packets": 0, "naks_sent": 0, "bad_crc": 0, "duplicates": 0,
                      "requests": 0, "resent": 0, "skipped": 0, "timeouts": 0}

    # --- loop -------------------------------------------------------------------------

    def serve(self, duration: float | None = None) -> None:
        t0 = time.monotonic()
        while not self.stop_event.is_set():
            if duration is not None and time.monotonic() - t0 >= duration:
                break
            data = self._read()
            if data is None:
                break
            now = time.monotonic()
            if data:
                self.buf += data
                self.last_byte = now
            self._process(now)
            self._timers(time.monotonic())

    def stop(self) -> None:
        self.stop_event.set()

    def _read(self) -> bytes | None:
        try:
            if not select.select([self.fd], [], [], TICK)[0]:
                return b""
            return os.read(self.fd, 4096)
        except BlockingIOError:
            return b""
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno == errno.EIO:  # no client on the pty
                time.sleep(TICK)
                return b""
            return None

    def _send(self, data: bytes) -> None:
        for piece in paced(data, self.byte_time):
            if not _write_all(self.fd, piece):
                self.log("mep-sim: optical line blocked, output dropped")
                return
            for fd in self.mirrors:
                _mirror(fd, piece)

    # --- receiving --------------------------------------------------------------------

    def _process(self, now: float) -> None:
        buf = self.buf
        while buf:
            b = buf[0]
            if b in (link.ACK, link.NAK) and self.outbox:
                del buf[0]
                self._acknowledged(b == link.ACK, now)
                continue
            if b != link.STP:
                # Not ours: an ACK nobody waits for, noise, or MEP bytes on a shared line.
                stp = buf.find(link.STP)
                n = len(buf) if stp < 0 else stp
                self.stats["skipped"] += n
                del buf[:n]
                continue
            size = link.packet_at(buf)
            if size:
                raw = bytes(buf[:size])
                del buf[:size]
                self._packet(raw, now)
                continue
            if link.needs_more(buf):
                return  # the rest may still come (the inter-character timeout decides)
            pkt = link.parse(bytes(buf))
            whole = link.HEADER_LEN + len(pkt.data) + link.CRC_LEN if pkt else 1
            if pkt is not None and len(pkt.data) == int.from_bytes(buf[4:6], "big"):
                # A whole packet whose CRC fails: NAK it, the sender repeats it.
                del buf[:whole]
                self.stats["bad_crc"] += 1
                self._nak()
            else:  # a start byte with an impossible length: not a packet start
                del buf[0]
                self.stats["skipped"] += 1

    def _packet(self, raw: bytes, now: float) -> None:
        self.stats["packets"] += 1
        self.last_packet = now
        if not self.switched:
            self.switched = True
            self.on_session(True)
            if self.nak_first:
                self.log("mep-sim: optical start byte: switched over, first packet NAKed")
                self._nak()
                return
        if self.outbox:
            self.outbox = []  # the client went on: it has what it needed of our answer
        pkt = link.parse(raw)
        if raw == self.last_accepted:
            self.stats["duplicates"] += 1
            self._send(bytes([link.ACK]))
            return
        self.last_accepted = raw
        self._send(bytes([link.ACK]))
        message = self.reassembler.add(pkt)
        if message is None:
            return
        self.stats["requests"] += 1
        was_active = self.server.active
        answer = self.server.handle(message)
        self._answer(answer)
        if was_active and not self.server.active:
            self._end("terminated")

    def _nak(self) -> None:
        self.stats["naks_sent"] += 1
        self._send(bytes([link.NAK]))

    # --- sending ----------------------------------------------------------------------

    def _answer(self, message: bytes) -> None:
        """Cut the answer into packets of the negotiated size; send the first."""
        packets, self.toggle = link.split(message, self.server.packet_size, self.toggle)
        self.outbox = packets
        self._send_head(first=True)

    def _send_head(self, first: bool = False) -> None:
        self.tries = 0 if first else self.tries
        self.sent_at = time.monotonic()
        self._send(self.outbox[0])

    def _acknowledged(self, ack: bool, now: float) -> None:
        if ack:
            self.outbox.pop(0)
            if self.outbox:
                self._send_head(first=True)
            return
        self._retry("NAK")

    def _retry(self, why: str) -> None:
        if self.tries >= RETRIES:
            self.log(f"mep-sim: optical answer given up after {RETRIES} retries ({why})")
            self.outbox = []
            return
        self.tries += 1
        self.stats["resent"] += 1
        self._send_head()

    # --- timers -----------------------------------------------------------------------

    def _timers(self, now: float) -> None:
        if self.buf and now - self.last_byte > INTER_CHARACTER_TIMEOUT:
            self.stats["skipped"] += len(self.buf)
            self.buf.clear()  # a packet cut short: the sender repeats it
        if self.outbox and now - self.sent_at > RESPONSE_TIMEOUT:
            self.stats["timeouts"] += 1
            self._retry("no ACK")
        if self.switched and not self.outbox and now - self.last_packet > CHANNEL_TRAFFIC_TIMEOUT:
            self.server.reset()
            self._end("channel traffic timeout")

    def _end(self, why: str) -> None:
        """The session is over: the UART goes back to MEP."""
        self.log(f"mep-sim: optical session ended ({why})")
        self.switched = False
        self.last_accepted = None
        self.reassembler = link.Reassembler()
        self.on_session(False)
