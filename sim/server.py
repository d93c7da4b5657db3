"""The MEP server's protocol engine: one request body in, one response frame out.

No I/O and no clock of its own: :mod:`.port` feeds it the frames it reads.
Per request (guide, chapter 2):

1. find the key whose digest verifies the body, plain or RC4-decrypted,
   the MAK first (:func:`~mepshark.dissector.sealing.open_request`); none
   verifies -> 0x0B, sent in clear;
2. the sequence number must lie 1..8 ahead of the last one accepted, else
   0x0C carrying the one expected next;
3. run the read or write (rights per Appendix C), answering with the same
   key and, for an encrypted request, encrypted.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from mepshark.dissector.builders import bad_sequence, error, read_ok, respond, write_ok
from mepshark.dissector.frames import (
    AUTH_FAILURE,
    DIGEST_LEN,
    MAX_READ,
    NO_PERMISSION,
    NOT_POSSIBLE,
    SEQUENCE_ERROR,
    TABLE_ERROR,
    UNRECOGNIZED,
    MEPFullTableRead,
    MEPFullTableWrite,
    MEPPartialTableRead,
    MEPPartialTableWrite,
    body_class,
    frame_of,
)
from mepshark.dissector.sealing import Seal, open_request
from mepshark.dissector.security import Key

from . import procedures
from .access import may_write
from .meter import Meter

SEQUENCE_WINDOW = 8


@dataclass
class Exchange:
    """What happened to one request (for logs and tests)."""

    kind: str
    """"read", "write", "procedure", "auth", "sequence", "error"."""
    code: int
    key: str | None = None
    table: int | None = None
    encrypted: bool = False


@dataclass
class MepServer:
    meter: Meter
    keys: list[Key]
    last_sequence: int = field(default_factory=lambda: random.getrandbits(32))
    """The last sequence number accepted; the next must lie 1..8 ahead."""
    history: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        order = {"MAK": 0, "MBK": 1}
        self.keys = sorted(self.keys, key=lambda k: order.get(k.name, 2))
        if not self.keys:
            raise ValueError("the simulator needs an MBK or a MAK")

    @property
    def expected(self) -> int:
        return (self.last_sequence + 1) & 0xFFFFFFFF

    def handle(self, body: bytes) -> bytes | None:
        """The response frame to a request body (no length field); None: no answer."""
        if not body:
            return None
        opened = open_request(body, self.keys)
        if opened is None:
            return self._auth_failure(body)
        plain, seal = opened
        pkt = frame_of(body_class(plain), plain)
        if not isinstance(pkt, (MEPFullTableRead, MEPPartialTableRead, MEPFullTableWrite,
                                MEPPartialTableWrite)):
            return self._reply(error(UNRECOGNIZED), seal, Exchange("error", UNRECOGNIZED))
        ahead = (pkt.sequence - self.last_sequence) & 0xFFFFFFFF
        if not 1 <= ahead <= SEQUENCE_WINDOW:
            return self._reply(bad_sequence(self.expected), seal,
                               Exchange("sequence", SEQUENCE_ERROR, seal.key.name))
        self.last_sequence = pkt.sequence
        if isinstance(pkt, (MEPFullTableRead, MEPPartialTableRead)):
            return self._read(pkt, seal)
        return self._write(pkt, seal)

    # --- requests -------------------------------------------------------------

    def _read(self, pkt, seal: Seal) -> bytes:
        tid = pkt.table_id
        ex = Exchange("read", 0, seal.key.name, tid, seal.encrypted)
        data = self.meter.read(tid)
        if data is None:
            return self._reply(error(TABLE_ERROR), seal, _err(ex, TABLE_ERROR))
        offset = getattr(pkt, "offset", 0) or 0
        if offset > len(data):
            return self._reply(error(TABLE_ERROR), seal, _err(ex, TABLE_ERROR))
        count = pkt.count or (len(data) - offset)
        chunk = data[offset : offset + count]
        if len(chunk) > MAX_READ:
            return self._reply(error(NOT_POSSIBLE), seal, _err(ex, NOT_POSSIBLE))
        if tid == 2048 + 15:  # reading the on-demand queue services its alert
            self.meter.set_alert("on_demand_request_in_et15", False)
        return self._reply(read_ok(chunk), seal, ex)

    def _write(self, pkt, seal: Seal) -> bytes:
        tid = pkt.table_id
        ex = Exchange("write", 0, seal.key.name, tid, seal.encrypted)
        size = self.meter.size(tid)
        if size is None:
            return self._reply(error(TABLE_ERROR), seal, _err(ex, TABLE_ERROR))
        if not may_write(seal.key.name, tid):
            return self._reply(error(NO_PERMISSION), seal, _err(ex, NO_PERMISSION))
        offset = getattr(pkt, "offset", 0) or 0
        data = bytes(pkt.data)[: pkt.count] if pkt.count is not None else bytes(pkt.data)
        if offset + len(data) > size:
            if offset >= size:
                return self._reply(error(TABLE_ERROR), seal, _err(ex, TABLE_ERROR))
            data = data[: size - offset]  # the guide: extra data is ignored
        self.meter.write(tid, offset, data)
        if tid == 7 and offset == 0:
            out = procedures.run(self.meter, data, seal.key.name)
            ex = Exchange("procedure", out.result, seal.key.name, out.number, seal.encrypted)
        return self._reply(write_ok(), seal, ex)

    # --- replies --------------------------------------------------------------

    def _reply(self, body, seal: Seal, ex: Exchange) -> bytes:
        self.history.append(ex)
        return respond(body, seal)

    def _auth_failure(self, body: bytes) -> bytes | None:
        if len(body) <= DIGEST_LEN:
            return None
        # No key verified it: answer in clear, digested as under the first key.
        key = self.keys[0]
        state = key.digest_state()
        state.update(body[:-DIGEST_LEN])
        seal = Seal(key, body[-DIGEST_LEN:], state, None)
        return self._reply(error(AUTH_FAILURE), seal, Exchange("auth", AUTH_FAILURE))


def _err(ex: Exchange, code: int) -> Exchange:
    ex.kind, ex.code = "error", code
    return ex


def make_server(meter: Meter, keys: Iterable[Key], sequence: int | None = None) -> MepServer:
    kw = {} if sequence is None else {"last_sequence": sequence & 0xFFFFFFFF}
    return MepServer(meter, list(keys), **kw)
