"""scapy link-type registration and capture reading.

MEP has no link type of its own; captures use a user DLT (147..162,
LINKTYPE_USER0 by default).  Registering the MEP layer for that DLT makes
``rdpcap`` and ``sniff(offline=…)`` return MEP packets.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Sequence

from scapy.config import conf

from .c1218frames import C1218AckNak, C1218Packet
from .capture_format import DLT_USER0, check_dlt
from .context import FrameInfo, stream
from .frames import BAUD, MEP
from .records import WHOLE_RECORD, Records  # noqa: F401 - WHOLE_RECORD re-exported
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
    path: str | os.PathLike, keys: Iterable[Key] = (), dlt: int = DLT_USER0, baud: int = BAUD,
    follow_tls: bool = True,
) -> Capture:
    """Read a pcap/pcapng file and decode it in context (pairing, digests, decryption,
    TLS sessions opened with the same keys unless ``follow_tls`` is False).

    The file is opened now (a file that is no capture is refused here); the
    frames are decoded as the result is iterated, without keeping them.
    Indexing it, ``len`` or comparing it with a list decodes all of them
    once and keeps them (a :class:`Capture` then behaves as that list).
    """
    register_dlt(dlt)
    return Capture(path, keys, baud, follow_tls)


class Capture(Sequence[FrameInfo]):
    """A capture's decoded frames, streamed when iterated, a list when indexed.

    Iterating decodes record by record into the pairing state and yields each
    frame as soon as no later frame can change it, so a loop over a month of
    captures holds a few frames at a time, not the month.  Each further
    iteration reads the file again (unless the list was made).
    """

    def __init__(self, path: str | os.PathLike, keys: Iterable[Key] = (), baud: int = BAUD,
                 follow_tls: bool = True):
        self.path, self.keys, self.baud = path, list(keys), baud
        self.follow_tls = follow_tls
        self._records: Records | None = Records(path)
        self._list: list[FrameInfo] | None = None

    def __iter__(self) -> Iterator[FrameInfo]:
        if self._list is not None:
            return iter(self._list)
        records, self._records = self._records, None
        return self._stream(records if records is not None else Records(self.path))

    def _stream(self, records: Records) -> Iterator[FrameInfo]:
        with records:
            yield from stream(records, self.keys, self.baud, self.follow_tls)

    def frames(self) -> list[FrameInfo]:
        """Every frame, decoded once and kept."""
        if self._list is None:
            # Every decoded frame lives until the end, so the cyclic garbage
            # collector would only rescan a growing heap of survivors (15 % of
            # the time on 100k frames); it is paused for the load.
            enabled = gc.isenabled()
            gc.disable()
            try:
                self._list = list(iter(self))
            finally:
                if enabled:
                    gc.enable()
        return self._list

    def __len__(self) -> int:
        return len(self.frames())

    def __getitem__(self, k):
        return self.frames()[k]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Capture):
            other = other.frames()
        return self.frames() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Capture({os.fspath(self.path)!r}, {len(self.keys)} key(s))"

    def close(self) -> None:
        """Close the file opened for the first iteration, if it never ran."""
        if self._records is not None:
            self._records.close()
            self._records = None
