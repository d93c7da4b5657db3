"""scapy link-type registration and capture reading.

MEP has no link type of its own; captures use a user DLT (147..162,
LINKTYPE_USER0 by default).  Registering the MEP layer for that DLT makes
``rdpcap`` and ``sniff(offline=…)`` return MEP packets.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator

from scapy.config import conf
from scapy.packet import Packet
from scapy.utils import PcapReader

from .c1218frames import C1218AckNak, C1218Packet
from .capture_format import DLT_USER0, check_dlt
from .context import FrameInfo, decode
from .frames import BAUD, MEP
from .security import Key


def _frame_classes(cls: type = MEP) -> list[type]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _frame_classes(sub)
    return found


def register_dlt(dlt: int = DLT_USER0) -> None:
    """Make scapy decode link type ``dlt`` as MEP (importing the package registers 147).

    Every frame class is mapped to the DLT too, because scapy's writers look
    up the link type of a packet by its exact class.
    """
    dlt = check_dlt(dlt)
    for cls in (*_frame_classes(), C1218Packet, C1218AckNak):
        conf.l2types.register_layer2num(dlt, cls)
    conf.l2types.register(dlt, MEP)


def read_capture(
    path: str | os.PathLike, keys: Iterable[Key] = (), dlt: int = DLT_USER0, baud: int = BAUD
) -> list[FrameInfo]:
    """Read a pcap/pcapng file and decode it in context (pairing, digests, decryption)."""
    register_dlt(dlt)
    # Every decoded frame lives until the end, so the cyclic garbage collector
    # would only rescan a growing heap of survivors (15 % of the time on 100k
    # frames); it is paused for the load and restored afterwards.
    enabled = gc.isenabled()
    gc.disable()
    try:
        with PcapReader(os.fspath(path)) as reader:
            return decode(_records(reader), keys, baud)
    finally:
        if enabled:
            gc.enable()


WHOLE_RECORD = 1 << 32
"""Larger than any record a pcap or pcapng block can hold."""


def _records(reader: PcapReader) -> Iterator[Packet]:
    """The reader's packets, each whole: iterating a scapy reader cuts every
    record to 65535 bytes without a word, and a record of many frames can be
    longer."""
    while True:
        try:
            yield reader.read_packet(size=WHOLE_RECORD)
        except EOFError:
            return
