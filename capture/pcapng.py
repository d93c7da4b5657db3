"""A small pcapng writer for MEP captures (docs/architecture.md, "Capture files").

scapy's ``PcapNgWriter`` opens an unnamed interface of its own and knows no
interface descriptions or timestamp resolution option, and a serial capture
needs all three: one Interface Description Block per serial line, named
after the device and saying which side it hears, and one Enhanced Packet
Block per frame with the direction flag.  Blocks are flushed as written so
that a killed capture leaves a file readable up to its last packet.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from mepshark.dissector.capture_format import DLT_USER0, check_dlt

_SHB, _IDB, _EPB = 0x0A0D0D0A, 0x00000001, 0x00000006
_OPT_END, _OPT_COMMENT = 0, 1
_IF_NAME, _IF_DESCRIPTION, _IF_TSRESOL = 2, 3, 9
_SHB_USERAPPL = 4
_EPB_FLAGS = 2


def _option(code: int, value: bytes) -> bytes:
    pad = (-len(value)) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * pad


def _block(block_type: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


class PcapngWriter:
    """Write MEP frames to pcapng, one interface per serial line.

    ``tsresol_exp`` is the decimal exponent of the timestamp unit
    (6 = microseconds, 9 = nanoseconds).
    """

    def __init__(
        self,
        stream: BinaryIO,
        dlt: int = DLT_USER0,
        tsresol_exp: int = 6,
        application: str = "mepshark",
    ):
        self.stream = stream
        self.dlt = check_dlt(dlt)
        self._scale = 10**tsresol_exp
        self._tsresol = tsresol_exp
        self._interfaces: dict[str, int] = {}
        self.packets = 0
        opts = _option(_SHB_USERAPPL, application.encode()) + _option(_OPT_END, b"")
        body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + opts
        self._write(_block(_SHB, body))

    def add_interface(self, name: str, description: str = "") -> int:
        """Declare a serial line; returns its interface id (idempotent per name)."""
        if name in self._interfaces:
            return self._interfaces[name]
        opts = _option(_IF_NAME, name.encode())
        if description:
            opts += _option(_IF_DESCRIPTION, description.encode())
        opts += _option(_IF_TSRESOL, bytes([self._tsresol])) + _option(_OPT_END, b"")
        self._write(_block(_IDB, struct.pack("<HHI", self.dlt, 0, 0) + opts))
        ifid = len(self._interfaces)
        self._interfaces[name] = ifid
        return ifid

    def write(
        self,
        interface: int,
        timestamp: float | int,
        data: bytes,
        direction: int | None = None,
        comments: list[str] | tuple[str, ...] = (),
    ) -> None:
        """Write one packet; ``timestamp`` in seconds (float) or an int in the file's unit.

        ``direction`` is an EPB direction (``EPB_INBOUND``/``EPB_OUTBOUND`` of
        :mod:`mepshark.dissector.capture_format`).
        """
        if isinstance(timestamp, int):
            ts = timestamp
        else:
            ts = round(timestamp * self._scale)
        pad = (-len(data)) % 4
        body = struct.pack("<IIIII", interface, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
        body += data + b"\x00" * pad
        opts = b""
        for c in comments:
            opts += _option(_OPT_COMMENT, c.encode())
        if direction:
            opts += _option(_EPB_FLAGS, struct.pack("<I", direction & 3))
        if opts:
            opts += _option(_OPT_END, b"")
        self._write(_block(_EPB, body + opts))
        self.packets += 1

    def write_secrets(self, keylog: str) -> None:
        """A Decryption Secrets Block holding TLS key log lines (before the packets they open)."""
        from mepshark.dissector.tlssecrets import dsb_block

        self._write(dsb_block(keylog))

    def _write(self, block: bytes) -> None:
        self.stream.write(block)
        self.stream.flush()

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> PcapngWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
