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
from dataclasses import dataclass, field

from mepshark.dissector.builders import bad_sequence, error, read_ok, respond, write_ok
from mepshark.dissector.catalog.access import may_write
from mepshark.dissector.frames import (
    AUTH_FAILURE,
    DIGEST_LEN,
    MAX_READ,
    NO_PERMISSION,
    NOT_POSSIBLE,
    RC4_REQUESTS,
    READ_CODES,
    SEQUENCE_ERROR,
    TABLE_ERROR,
    UNRECOGNIZED,
    frame_of,
)
from mepshark.dissector.sealing import Seal, open_request
from mepshark.dissector.security import Key
from mepshark.dissector.tables import table_id

from . import procedures
from .meter import Meter

SEQUENCE_WINDOW = 8
BT07 = table_id("BT07")
"""Writing it (from offset 0) starts a procedure."""
ET15 = table_id("ET15")
"""Reading the on-demand queue services its alert."""


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
        code = plain[0]
        if code not in RC4_REQUESTS:
            return self._reply(error(UNRECOGNIZED), seal, Exchange("error", UNRECOGNIZED))
        pkt = frame_of(RC4_REQUESTS[code], plain)
        ahead = (pkt.sequence - self.last_sequence) & 0xFFFFFFFF
        if not 1 <= ahead <= SEQUENCE_WINDOW:
            return self._reply(bad_sequence(self.expected), seal,
                               Exchange("sequence", SEQUENCE_ERROR, seal.key.name))
        self.last_sequence = pkt.sequence
        offset = getattr(pkt, "offset", 0) or 0  # full reads and writes have none
        if code in READ_CODES:
            return self._read(pkt, offset, seal)
        return self._write(pkt, offset, seal)

    # --- requests -------------------------------------------------------------

    def _read(self, pkt, offset: int, seal: Seal) -> bytes:
        tid = pkt.table_id
        ex = Exchange("read", 0, seal.key.name, tid, seal.encrypted)
        data = self.meter.read(tid)
        if data is None or offset > len(data):
            return self._fail(ex, TABLE_ERROR, seal)
        count = pkt.count or (len(data) - offset)
        chunk = data[offset : offset + count]
        if len(chunk) > MAX_READ:
            return self._fail(ex, NOT_POSSIBLE, seal)
        if tid == ET15:
            self.meter.set_alert("on_demand_request_in_et15", False)
        return self._reply(read_ok(chunk), seal, ex)

    def _write(self, pkt, offset: int, seal: Seal) -> bytes:
        tid = pkt.table_id
        ex = Exchange("write", 0, seal.key.name, tid, seal.encrypted)
        size = self.meter.size(tid)
        if size is None:
            return self._fail(ex, TABLE_ERROR, seal)
        if not may_write(seal.key.name, tid):
            return self._fail(ex, NO_PERMISSION, seal)
        data = bytes(pkt.data)[: pkt.count] if pkt.count is not None else bytes(pkt.data)
        if offset + len(data) > size:
            if offset >= size:
                return self._fail(ex, TABLE_ERROR, seal)
            data = data[: size - offset]  # the guide: extra data is ignored
        self.meter.write(tid, offset, data)
        if tid == BT07 and offset == 0:
            out = procedures.run(self.meter, data, seal.key.name)
            ex = Exchange("procedure", out.result, seal.key.name, out.number, seal.encrypted)
        return self._reply(write_ok(), seal, ex)

    # --- replies --------------------------------------------------------------

    def _reply(self, body, seal: Seal, ex: Exchange) -> bytes:
        self.history.append(ex)
        return respond(body, seal)

    def _fail(self, ex: Exchange, code: int, seal: Seal) -> bytes:
        """Answer ``code`` and record ``ex`` as that error."""
        ex.kind, ex.code = "error", code
        return self._reply(error(code), seal, ex)

    def _auth_failure(self, body: bytes) -> bytes | None:
        if len(body) <= DIGEST_LEN:
            return None
        # No key verified it: answer in clear, digested as under the first key.
        key = self.keys[0]
        state = key.digest_state()
        state.update(body[:-DIGEST_LEN])
        seal = Seal(key, body[-DIGEST_LEN:], state, None)
        return self._reply(error(AUTH_FAILURE), seal, Exchange("auth", AUTH_FAILURE))

