"""A capture session: readers in, deframers in the middle, pcapng out.

Threads: one :class:`~.serialport.PortReader` per line only reads and stamps;
the thread that calls :meth:`CaptureSession.run` owns everything else (the
deframers, the output, the counters), so none of that needs a lock.

Timestamps.  Readers stamp each read with ``time.monotonic()`` when it
returns; the session maps monotonic time to wall-clock time once, at start
(so an NTP step during a capture does not make packets jump).  A read of
``n`` bytes that returns at ``t`` is taken to have ended with the stop bit
of its last byte at ``t``, its bytes back to back before it: byte *i*
began ``(n - i) * byte_time`` earlier (``byte_time`` = bits per character
/ baud, 10/9600 s for 9600 8N1).  That holds only for bytes that came at
the line's pace; ptys, sockets and USB adapters deliver bursts.  So no byte
is dated before what the reader saw: not before the previous read returned
(its bytes were all in by then), nor, when the reader had waited for this
read, more than one byte time (plus the USB latency timer, bytes an adapter
holds back) before the wait ended.  A burst is squeezed between that bound
and ``t`` (:meth:`Deframer.feed`).  A frame's timestamp is the start of its
first byte.  The error of this model is the delay between the bytes
reaching the adapter and the read returning: the adapter's USB latency
timer (up to 16 ms by default on FTDI, 1 ms when set low) plus scheduling,
typically well under 1 ms on a pty.

Nothing is lost: every byte read goes to exactly one packet (a frame, an
alert, or an unframed run with a comment saying why), except that with a
packet limit (``-c``) the capture stops at the limit.
"""

from __future__ import annotations

import errno
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND, UNFRAMED_COMMENT
from mepshark.dissector.context import TO_METER, infer_direction
from mepshark.dissector.deframer import C1218, DEFAULT_SILENCE, UNFRAMED, Chunk, Deframer
from mepshark.dissector.tlssecrets import LiveSecrets

from .ring import PcapngOutput
from .serialport import (
    BACK,
    DATA,
    ERRORS,
    LOST,
    LineSpec,
    PortReader,
    latency_timer_ms,
    open_serial,
)
from .status import Counters, StatusLine, describe_errors

COMMENT_PREFIX = "mep-capture: "
_SIDE_DIRECTION = {"meter": EPB_INBOUND, "client": EPB_OUTBOUND}
_TICK = 0.01


def silence_for(spec: LineSpec, silence: float | None = None) -> float:
    """Silence that ends a partial frame: 100 ms, or more at very slow baud rates.

    At 300 baud one character lasts 33-40 ms, so a fixed 100 ms would be
    under three characters; four character times is the floor.
    """
    if silence is not None:
        return silence
    return max(DEFAULT_SILENCE, 4 * spec.byte_time)


def frame_direction(spec: LineSpec, chunk: Chunk) -> int | None:
    """EPB direction of a chunk: from the line's side, or inferred from the first body byte."""
    if spec.side in _SIDE_DIRECTION:
        return _SIDE_DIRECTION[spec.side]
    if chunk.kind in (UNFRAMED, C1218):  # a C12.18 packet's side: not told by its bytes
        return None
    if len(chunk.data) == 2:  # 0x0000: the alert sequence, which only the meter sends
        return EPB_INBOUND
    inferred = infer_direction(chunk.data[2] if len(chunk.data) > 2 else None)
    if inferred is None:
        return None
    return EPB_OUTBOUND if inferred == TO_METER else EPB_INBOUND


def iso(wall: float) -> str:
    """UTC time for comments, to the microsecond."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + f".{int(wall % 1 * 1e6):06d}Z"


@dataclass
class Line:
    """Runtime state of one serial line."""

    spec: LineSpec
    ifid: int
    deframer: Deframer
    reader: PortReader | None = None
    comments: list[str] = field(default_factory=list)
    """Comments waiting for this line's next packet (gaps, serial errors)."""
    comment_time: float = 0.0
    lost_at: float | None = None
    lost_reason: str = ""
    byte_time: float = 0.0
    hold: float = 0.0
    """How long the adapter may hold bytes before handing them over (USB latency timer)."""
    last_read: float = float("-inf")
    """When the previous read returned: every byte it held had arrived by then."""


@dataclass
class Summary:
    """How a capture ended."""

    counters: Counters
    files: list[str]
    reason: str
    dropped_after_limit: int = 0


class CaptureSession:
    """Capture ``specs`` into ``output`` until stopped, a limit is reached or the output closes.

    ``log`` receives one-line messages (port lost / back, warnings).
    """

    def __init__(
        self,
        specs: Sequence[LineSpec],
        output: PcapngOutput | None = None,
        *,
        max_packets: int | None = None,
        duration: float | None = None,
        silence: float | None = None,
        status: StatusLine | None = None,
        log: Callable[[str], None] | None = None,
        secrets: LiveSecrets | None = None,
    ):
        self.specs = list(specs)
        self.secrets = secrets
        """Follows TLS sessions with the keys given, to embed their secrets (or None)."""
        self.output = output
        self.max_packets = max_packets
        self.duration = duration
        self.silence = silence
        self.status = status
        self._log = log or (lambda msg: print(msg, file=sys.stderr))
        self.counters = Counters()
        self.events: deque = deque()
        self.stop_event = threading.Event()
        self._reader_stop = threading.Event()
        self.lines: list[Line] = []
        self._sers: list = []
        self.mono0 = time.monotonic()
        self.wall0_ns = time.time_ns()
        self._scale = 1
        self._wall0_units = 0
        self._limit_hit = False
        self._dropped = 0

    # --- set-up -------------------------------------------------------------

    def open(self) -> None:
        """Open the ports, then declare them as interfaces of the output."""
        if not self._sers:
            self.open_ports()
        self.declare_interfaces()

    def open_ports(self) -> None:
        """Open every port, or none (raises :class:`~.serialport.PortError`).

        Done before the output is created, so that a port that cannot be
        opened never costs an existing file its contents.
        """
        for spec in self.specs:
            try:
                self._sers.append(open_serial(spec))
            except Exception:
                self.close_ports()
                raise

    def declare_interfaces(self) -> None:
        """One interface per line in the output (which must be set by now)."""
        if self.output is None:
            raise ValueError("no output to capture into")
        self._scale = 10**self.output.tsresol
        for spec in self.specs:
            ifid = self.output.add_interface(spec.port, spec.description)
            deframer = Deframer(silence=silence_for(spec, self.silence), byte_time=spec.byte_time)
            hold = (latency_timer_ms(spec.port) or 0) / 1000
            self.lines.append(Line(spec, ifid, deframer, byte_time=spec.byte_time, hold=hold))

    def close_ports(self) -> None:
        for ser in self._sers:
            try:
                ser.close()
            except Exception:  # closing is best effort; the port may already be gone
                pass
        self._sers = []

    def log(self, msg: str) -> None:
        if self.status is not None:
            self.status.message(msg)
        else:
            self._log(msg)

    # --- time -------------------------------------------------------------------

    def rel(self, mono: float) -> float:
        """Monotonic time -> seconds since the start of the capture."""
        return mono - self.mono0

    def wall(self, rel: float) -> float:
        return self.wall0_ns / 1e9 + rel

    def units(self, rel: float) -> int:
        """Seconds since start -> pcapng timestamp in the file's units."""
        return self._wall0_units + round(rel * self._scale)

    # --- main loop ---------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to finish (safe from a signal handler or another thread)."""
        self.stop_event.set()

    def run(self) -> Summary:
        """Capture until stopped; returns what was captured. Call :meth:`open` first."""
        if not self.lines:
            self.open()
        self.mono0 = time.monotonic()
        self.wall0_ns = time.time_ns()
        self._wall0_units = self.wall0_ns * self._scale // 10**9
        for i, line in enumerate(self.lines):
            line.reader = self.make_reader(i, line)
            line.reader.start()
        deadline = None if self.duration is None else self.mono0 + self.duration
        reason = "stopped"
        broken = False
        try:
            while True:
                if self.stop_event.is_set():
                    break
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    reason = "duration reached"
                    break
                wait = _TICK if deadline is None else max(0.0, min(_TICK, deadline - now))
                self._step(wait)
                if self._limit_hit:
                    reason = "packet count reached"
                    break
                self.output.tick()
                if self.output.done:
                    reason = "file limit reached"
                    break
                if self.status is not None:
                    self.status.update(self.counters, time.monotonic() - self.mono0)
        except (BrokenPipeError, ConnectionResetError):
            reason, broken = "output closed", True
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            reason, broken = "output closed", True
        finally:
            self._finish(broken)
        if self.status is not None:
            self.status.update(self.counters, time.monotonic() - self.mono0, force=True)
            self.status.clear()
        return Summary(self.counters, list(self.output.files), reason, self._dropped)

    def make_reader(self, index: int, line: Line) -> PortReader:
        """The reader thread of one line (a relay adds forwarding)."""
        return PortReader(index, line.spec, self._sers[index], self.events, self._reader_stop)

    def _step(self, wait: float) -> None:
        """Sleep ``wait`` s, then handle everything the readers queued, then poll for silence.

        Waking on a tick rather than on every read keeps the cost per read low
        under heavy traffic; timestamps are taken by the readers, so the tick
        only delays the output (by at most ``wait``), never the time stamps.
        """
        if wait > 0:
            time.sleep(wait)
        # Read the watermarks before draining: whatever a reader read before its
        # watermark is on the queue by now, so the drain below gets it.
        marks = [line.reader.watermark if line.reader else float("inf") for line in self.lines]
        events = self.events
        batch = []
        while events:
            batch.append(events.popleft())
        out: list[tuple[float, int, Line, Chunk, list[str]]] = []
        if len(batch) > 1:
            batch.sort(key=lambda ev: ev[3] if ev[0] == DATA else ev[2])
        for ev in batch:
            self._event(ev, out)
        now_rel = self.rel(time.monotonic())
        for line, mark in zip(self.lines, marks, strict=True):
            if line.deframer.pending:
                self._collect(line, line.deframer.poll(min(now_rel, self.rel(mark))), out)
        self._write(out)

    def _collect(self, line: Line, chunks: list[Chunk], out: list, extra: str = "") -> None:
        for chunk in chunks:
            comments = []
            if line.comments:
                comments, line.comments = line.comments, []
            if chunk.kind == UNFRAMED:
                comments.append(f"{UNFRAMED_COMMENT}{chunk.reason}")
            if extra:
                comments.append(extra)
            out.append((chunk.time, len(out), line, chunk, comments))

    def _event(self, ev: tuple, out: list) -> None:
        kind, index = ev[0], ev[1]
        line = self.lines[index]
        if kind == DATA:
            data, end, seen_empty = ev[2], self.rel(ev[3]), self.rel(ev[4])
            self.counters.bytes_read += len(data)
            bt = line.byte_time
            first = max(
                end - len(data) * bt,  # line pace: back to back, the last ending at the read
                seen_empty - bt - line.hold,  # the first byte landed after the line was empty
                min(line.last_read, end - bt),  # after the previous read had taken its bytes
            )
            line.last_read = end
            self._collect(line, line.deframer.feed(data, first, end), out)
        elif kind == LOST:
            t, msg = self.rel(ev[2]), ev[3]
            self._collect(line, line.deframer.close(), out,
                          extra=f"{COMMENT_PREFIX}port lost right after these bytes")
            line.lost_at, line.lost_reason = t, msg
            self.counters.gaps += 1
            self.log(f"mep-capture: {line.spec.port}: port lost ({msg}); "
                     "waiting for it to come back")
        elif kind == BACK:
            t = self.rel(ev[2])
            lost = line.lost_at if line.lost_at is not None else t
            line.comments.append(
                f"{COMMENT_PREFIX}gap: {line.spec.port} was unavailable for {t - lost:.3f} s, "
                f"from {iso(self.wall(lost))} to {iso(self.wall(t))} ({line.lost_reason}); "
                "bytes sent on the line meanwhile were not captured")
            line.comment_time = t
            line.lost_at = None
            self.log(f"mep-capture: {line.spec.port}: port back after {t - lost:.1f} s; "
                     "the gap is recorded as a packet comment")
        elif kind == ERRORS:
            t, delta = self.rel(ev[2]), ev[3]
            for k, n in delta.items():
                self.counters.errors[k] = self.counters.errors.get(k, 0) + n
            text = describe_errors(delta)
            line.comments.append(f"{COMMENT_PREFIX}serial errors on this line before this "
                                 f"packet: {text}")
            line.comment_time = t
            self.log(f"mep-capture: {line.spec.port}: {text} error(s) reported by the driver")

    def _write(self, out: list) -> None:
        if not out:
            return
        out.sort(key=lambda item: (item[0], item[1]))
        for _t, _seq, line, chunk, comments in out:
            self._write_one(line, chunk.time, chunk.data, frame_direction(line.spec, chunk),
                            comments, unframed=chunk.kind == UNFRAMED)

    def _write_one(self, line: Line, t: float, data: bytes, direction: int | None,
                   comments: list[str], unframed: bool = False) -> None:
        c = self.counters
        if self._limit_hit or self.output.done:
            self._dropped += len(data)
            return
        if self.secrets is not None and not unframed and direction:
            text = self.secrets.frame(0 if direction == EPB_OUTBOUND else 1, data)
            if text:
                self.output.write_secrets(text)
        self.output.write(line.ifid, self.units(t), data, direction, comments)
        c.packets += 1
        if unframed:
            c.unframed_bytes += len(data)
            c.unframed_packets += 1
        elif data:
            c.frames[direction or 0] += 1
            c.frame_bytes[direction or 0] += len(data)
        if self.max_packets is not None and c.packets >= self.max_packets:
            self._limit_hit = True

    def _finish(self, broken: bool) -> None:
        """Stop the readers, then write out everything they read (unless the output is gone)."""
        self._reader_stop.set()
        for line in self.lines:
            if line.reader is not None:
                line.reader.join(timeout=2.0)
        if not broken:
            try:
                self._step(0)
                out: list = []
                for line in self.lines:
                    self._collect(line, line.deframer.close(), out)
                self._write(out)
                for line in self.lines:
                    if line.lost_at is not None:
                        line.comments.append(
                            f"{COMMENT_PREFIX}gap: {line.spec.port} was lost at "
                            f"{iso(self.wall(line.lost_at))} ({line.lost_reason}) and had not "
                            "come back when the capture ended")
                        line.comment_time = line.lost_at
                    if line.comments:
                        # Nothing followed to carry the comment: an empty packet does.
                        self._write_one(line, line.comment_time, b"",
                                        _SIDE_DIRECTION.get(line.spec.side), line.comments)
                        line.comments = []
            except (BrokenPipeError, ConnectionResetError):
                pass
            except OSError as exc:
                if exc.errno != errno.EPIPE:
                    raise
        try:
            self.output.close()
        except OSError:
            pass
