"""An RFC 2217 serial server in front of the simulator: a client's modem lines reach the meter.

A pseudo-terminal has no modem lines, so ENABLE (MEP pin 2) driven from DTR
or RTS would go nowhere.  RFC 2217 (telnet COM-PORT-OPTION, what ser2net and
serial servers speak) carries them: the client opens ``rfc2217://…`` with
pyserial, its DTR/RTS changes arrive here through pyserial's own server side
(:class:`serial.rfc2217.PortManager`) and go to the meter's ENABLE input
(:meth:`SimPort.set_enable`), while the bytes flow to and from the simulator's
pty.  Every change is kept in :attr:`Rfc2217Meter.changes`.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time

from serial.rfc2217 import PortManager
from serial.urlhandler.protocol_loop import Serial as LoopSerial

from mepshark.sim.port import SimPort


class ModemLines(LoopSerial):
    """The server side's port settings; DTR and RTS changes are reported, not applied."""

    def __init__(self, report):
        self.report = None  # opening sets both lines: not a client's doing
        super().__init__("loop://")
        self.report = report

    def _update_dtr_state(self) -> None:
        if self.report:
            self.report("dtr", self._dtr_state)

    def _update_rts_state(self) -> None:
        if self.report:
            self.report("rts", self._rts_state)


class _Connection:
    """What PortManager writes its telnet answers to (thread safe, as it requires)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)


class Rfc2217Meter:
    """Serve the simulator behind ``port`` (its pty's client end: ``line_fd``) over RFC 2217.

    ``pin`` is the modem line wired to ENABLE.  The meter sees ENABLE low
    until a client raises that line, and again when it disconnects.
    """

    def __init__(self, port: SimPort, line_fd: int, pin: str = "dtr"):
        self.port = port
        self.line_fd = line_fd
        self.pin = pin
        self.changes: list[tuple[float, str, bool]] = []
        """(monotonic time, line, level) of every DTR/RTS change a client made."""
        port.set_enable(False)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"rfc2217://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, name="rfc2217", daemon=True)
        self.thread.start()

    def _report(self, line: str, level: bool) -> None:
        self.changes.append((time.monotonic(), line, level))
        if line == self.pin:
            self.port.set_enable(level)

    def levels(self, line: str | None = None) -> list[bool]:
        line = line or self.pin
        return [level for _, name, level in self.changes if name == line]

    def _accept(self) -> None:
        while not self.stopped.is_set():
            r, _, _ = select.select([self.listener], [], [], 0.05)
            if not r:
                continue
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self._serve(sock)

    def _serve(self, sock: socket.socket) -> None:
        conn = _Connection(sock)
        lines = ModemLines(self._report)
        self.changes.clear()
        manager = PortManager(lines, conn)
        try:
            while not self.stopped.is_set():
                r, _, _ = select.select([sock, self.line_fd], [], [], 0.05)
                if self.line_fd in r:  # meter -> client
                    try:
                        data = os.read(self.line_fd, 4096)
                    except BlockingIOError:
                        data = b""
                    if data:
                        conn.write(b"".join(manager.escape(data)))
                if sock in r:  # client -> meter, telnet commands filtered out
                    data = sock.recv(4096)
                    if not data:
                        break
                    out = b"".join(manager.filter(data))
                    if out:
                        os.write(self.line_fd, out)
        except OSError:
            pass
        finally:
            sock.close()
            self.port.set_enable(False)  # client gone: nothing holds ENABLE up

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        self.listener.close()
