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
_MAX_FAST = 1 << 16
"""Blocks up to this size are read from the buffer; longer ones by scapy (a
block wholly in the buffer is all the fast path looks at)."""
_OPT_COMMENT, _OPT_FLAGS = 1, 2
_STRUCTS = {e: (struct.Struct(e + "6I").unpack_from, struct.Struct(e + "I").unpack_from,
                struct.Struct(e + "HH").unpack_from) for e in "<>!"}
"""Per byte order: a block's start up to the EPB's caplen, a 32-bit number, an option header."""

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

    CHUNK = 1 << 20

    def records(self) -> Iterator[Record]:
        f = self.f
        buf, at = b"", 0
        base = f.tell()  # the file offset of buf[0]
        while True:
            if len(buf) - at < _MAX_FAST:
                try:
                    more = f.read(self.CHUNK)
                except (OSError, OverflowError, zlib.error):
                    more = b""
                base += at
                buf, at = buf[at:] + more, 0
            rec, end = self._fast_epb(buf, at)
            if rec is not None:
                at = end
                yield rec
                continue
            f.seek(base + at)  # scapy reads the block from its start
            buf, at, base = b"", 0, base + at
            try:
                rec = self._slow()
            except EOFError:
                return
            except Scapy_Exception as exc:
                # a later section header cut short: the file ends there, as
                # for any other damage (the frames before it are decoded)
                warning(str(exc))
                return
            base = f.tell()
            yield rec

    def _fast_epb(self, buf: bytes, at: int) -> tuple[Record | None, int]:
        """The EPB at ``buf[at:]`` and where it ends, if it is a clean one wholly
        in ``buf``; else None (scapy reads that block)."""
        e = self.endian
        if len(buf) - at < _EPB_MIN:
            return None, at
        head, u32, opt = _STRUCTS[e]
        kind, size, intid, hi, lo, caplen = head(buf, at)
        end = at + size
        if (kind != _EPB or size < _EPB_MIN or size % 4 or end > len(buf)
                or intid >= len(self.interfaces) or u32(buf, end - 4)[0] != size):
            return None, at
        opts_end = end - 4
        first = at + 28
        data = buf[first:first + caplen] if first + caplen <= opts_end else buf[first:opts_end]
        pos = first + caplen + (-caplen % 4)
        comments = None
        direction = None
        while opts_end - pos >= 4:
            code, length = opt(buf, pos)
            if code == 0:
                if length:
                    return None, at  # scapy warns about it
                break
            value_end = pos + 4 + length
            if value_end > opts_end:
                return None, at
            if code == _OPT_COMMENT:
                if comments is None:
                    comments = []
                comments.append(buf[pos + 4:value_end])
            elif code == _OPT_FLAGS:
                if length != 4:
                    return None, at
                direction = u32(buf, pos + 4)[0] & 3
            elif code in (0x8001, 0x8003):  # process information: scapy's affair
                return None, at
            pos = value_end + (-length % 4)
        per_second = self.interfaces[intid][2]["tsresol"]
        units = (hi << 32) + lo
        if per_second == 1_000_000 and units < 1 << 53:  # (the usual case of seconds())
            return (data, units / 1_000_000, direction, comments), end
        return (data, seconds(units, per_second), direction, comments), end

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
