"""Capture records as bytes: pcapng read block by block with struct, pcap through scapy.

scapy's readers dissect every record and parse each block with several
small reads; at a million records that alone costs more than decoding MEP.
:func:`open_records` yields ``(bytes, time, EPB direction flags, comments)``
per record.  A well-formed Enhanced Packet Block on a declared interface is
read here in one go; every other block (section and interface headers,
simple packet blocks, damage of any kind) goes to scapy's own pcapng reader
from the block's start, so that files are accepted, refused and warned
about exactly as scapy does it (its warnings go to the ``scapy.runtime``
log, which ``mep-dissector decode`` collects).  Classic pcap files are read
by scapy's raw reader.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from decimal import Decimal

from scapy.error import Scapy_Exception, warning
from scapy.utils import RawPcapNgReader, RawPcapReader

WHOLE_RECORD = 1 << 32
"""Larger than any record a pcap or pcapng block can hold (scapy's readers cut
records to 65535 bytes unless told otherwise, and a record of many frames
can be longer)."""

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_EPB = 6
_EPB_MIN = 32
"""An EPB's length with no packet bytes and no options."""
_OPT_COMMENT, _OPT_FLAGS = 1, 2

Record = tuple[bytes, float, "int | None", "list[bytes] | None"]


def seconds(units: int, per_second: int) -> float:
    """A timestamp in seconds, as the float of scapy's exact decimal quotient
    (``pkt.time``); float division gives the same whenever both numbers are
    exact floats and the quotient is a decimal shift."""
    if units < 1 << 53 and per_second in _POWERS_OF_TEN:
        return units / per_second
    return float(Decimal(units) / per_second)


_POWERS_OF_TEN = frozenset(10**k for k in range(16))


class _NgReader(RawPcapNgReader):
    """scapy's raw pcapng reader with a fast path for the common block."""

    def records(self) -> Iterator[Record]:
        f = self.f
        read, tell, seek = f.read, f.tell, f.seek
        while True:
            start = tell()
            try:
                rec = self._fast_epb(read)
            except (OSError, OverflowError, zlib.error):
                rec = None
            if rec is None:
                seek(start)
                try:
                    rec = self._slow()
                except EOFError:
                    return
                except Scapy_Exception as exc:
                    # a later section header cut short: the file ends there, as
                    # for any other damage (the frames before it are decoded)
                    warning(str(exc))
                    return
            yield rec

    def _fast_epb(self, read) -> Record | None:
        """The next block if it is a clean EPB, else None (the caller rewinds)."""
        e = self.endian
        head = read(8)
        if len(head) != 8:
            return None
        kind, size = struct.unpack(e + "II", head)
        if kind != _EPB or size < _EPB_MIN or size % 4:
            return None
        block = read(size - 8)
        if len(block) != size - 8:
            return None
        intid, hi, lo, caplen, _ = struct.unpack_from(e + "5I", block)
        end = size - 12
        if struct.unpack_from(e + "I", block, end)[0] != size or intid >= len(self.interfaces):
            return None
        data = block[20:20 + caplen] if 20 + caplen <= end else block[20:end]
        at = 20 + caplen + (-caplen % 4)
        comments = None
        direction = None
        while end - at >= 4:
            code, length = struct.unpack_from(e + "HH", block, at)
            if code == 0:
                if length:
                    return None  # scapy warns about it
                break
            if at + 4 + length > end:
                return None
            value = block[at + 4:at + 4 + length]
            if code == _OPT_COMMENT:
                if comments is None:
                    comments = []
                comments.append(value)
            elif code == _OPT_FLAGS:
                if length != 4:
                    return None
                direction = struct.unpack(e + "I", value)[0] & 3
            elif code in (0x8001, 0x8003):  # process information: scapy's affair
                return None
            at += 4 + length + (-length % 4)
        tsresol = self.interfaces[intid][2]["tsresol"]
        return data, seconds((hi << 32) + lo, tsresol), direction, comments

    def _slow(self) -> Record:
        data, meta = self._read_packet(size=WHOLE_RECORD)
        t = 0.0 if meta.tshigh is None else seconds((meta.tshigh << 32) + meta.tslow, meta.tsresol)
        return data, t, meta.direction, meta.comments


def _pcap_records(reader: RawPcapReader) -> Iterator[Record]:
    per_second = 10**9 if reader.nano else 10**6
    while True:
        try:
            data, meta = reader._read_packet(size=WHOLE_RECORD)
        except EOFError:
            return
        yield data, seconds(meta.sec * per_second + meta.usec, per_second), None, None


class Records:
    """An open capture file; iterate once for its records, then close."""

    def __init__(self, path: str | os.PathLike):
        name, fdesc, magic = RawPcapReader.open(os.fspath(path))
        if not magic:
            fdesc.close()
            raise Scapy_Exception("No data could be read!")
        cls = _NgReader if magic == PCAPNG_MAGIC else RawPcapReader
        reader = cls.__new__(cls)
        try:
            reader.__init__(name, fdesc, magic)
        except (Scapy_Exception, EOFError):
            fdesc.close()
            raise Scapy_Exception("Not a supported capture file") from None
        self.reader = reader

    def __iter__(self) -> Iterator[Record]:
        r = self.reader
        return r.records() if isinstance(r, _NgReader) else _pcap_records(r)

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> Records:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
