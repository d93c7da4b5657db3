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

from scapy.packet import Packet

from mepshark.dissector.builders import bad_sequence, error, read_ok, respond, write_ok
from mepshark.dissector.catalog.access import may_write
from mepshark.dissector.frames import (
    AUTH_FAILURE,
    DIGEST_LEN,
    LEN_LEN,
    MAX_READ,
    NO_PERMISSION,
    NOT_POSSIBLE,
    RC4_REQUESTS,
    READ_CODES,
    SEQUENCE_ERROR,
    TABLE_ERROR,
    TLS_REQUEST_CODES,
    UNRECOGNIZED,
    UNSUPPORTED,
    frame_of,
)
from mepshark.dissector.sealing import Seal, open_request
from mepshark.dissector.security import Key
from mepshark.dissector.tables import table_id

from . import procedures
from .exchange import Exchange
from .meter import Meter
from .tlsservice import TLSService

SEQUENCE_WINDOW = 8
BT07 = table_id("BT07")
"""Writing it (from offset 0) starts a procedure."""
ET15 = table_id("ET15")
"""Reading the on-demand queue services its alert."""


@dataclass
class MepServer:
    meter: Meter
    keys: list[Key]
    last_sequence: int = field(default_factory=lambda: random.getrandbits(32))
    """The last sequence number accepted; the next must lie 1..8 ahead."""
    history: list[Exchange] = field(default_factory=list)
    tls: TLSService | None = None
    """The port's TLS side (made on the first TLS request when not given)."""

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
            # An RC4-encrypted body may start with any byte, TLS codes included, so a
            # body is taken for TLS only when no key opens it as RC4.
            if body[0] in TLS_REQUEST_CODES:
                return self._tls(body)
            return self._auth_failure(body)
        plain, seal = opened
        code = plain[0]
        if self.tls is not None and (self.tls.required or self.tls.active):
            # TLS required, or a session open: RC4 requests are refused until it ends.
            # The guide names no code for this; 0x02 is the nearest of the RC4 ones.
            return self._reply(error(UNSUPPORTED), seal,
                               Exchange("error", UNSUPPORTED, seal.key.name))
        if code not in RC4_REQUESTS:
            return self._reply(error(UNRECOGNIZED), seal, Exchange("error", UNRECOGNIZED))
        pkt = frame_of(RC4_REQUESTS[code], plain)
        ahead = (pkt.sequence - self.last_sequence) & 0xFFFFFFFF
        if not 1 <= ahead <= SEQUENCE_WINDOW:
            return self._reply(bad_sequence(self.expected), seal,
                               Exchange("sequence", SEQUENCE_ERROR, seal.key.name))
        self.last_sequence = pkt.sequence
        answer, ex = self.execute(pkt, seal.key.name, seal.encrypted)
        return self._reply(answer, seal, ex)

    def execute(self, pkt, key: str, encrypted: bool = False) -> tuple[Packet, Exchange]:
        """Run a read or write request under ``key``: the plain answer and what happened."""
        offset = getattr(pkt, "offset", 0) or 0  # full reads and writes have none
        if pkt.request_code in READ_CODES:
            return self._read(pkt, offset, Exchange("read", 0, key, pkt.table_id, encrypted))
        return self._write(pkt, offset, Exchange("write", 0, key, pkt.table_id, encrypted))

    # --- requests -------------------------------------------------------------

    def _read(self, pkt, offset: int, ex: Exchange) -> tuple[Packet, Exchange]:
        tid = pkt.table_id
        data = self.meter.read(tid)
        if data is None or offset > len(data):
            return self._fail(ex, TABLE_ERROR)
        count = pkt.count or (len(data) - offset)
        chunk = data[offset : offset + count]
        if len(chunk) > MAX_READ:
            return self._fail(ex, NOT_POSSIBLE)
        if tid == ET15:
            self.meter.set_alert("on_demand_request_in_et15", False)
        return read_ok(chunk), ex

    def _write(self, pkt, offset: int, ex: Exchange) -> tuple[Packet, Exchange]:
        tid = pkt.table_id
        size = self.meter.size(tid)
        if size is None:
            return self._fail(ex, TABLE_ERROR)
        if not may_write(ex.key, tid):
            return self._fail(ex, NO_PERMISSION)
        data = bytes(pkt.data)[: pkt.count] if pkt.count is not None else bytes(pkt.data)
        if offset + len(data) > size:
            if offset >= size:
                return self._fail(ex, TABLE_ERROR)
            data = data[: size - offset]  # the guide: extra data is ignored
        self.meter.write(tid, offset, data)
        if tid == BT07 and offset == 0:
            out = procedures.run(self.meter, data, ex.key)
            ex = Exchange("procedure", out.result, ex.key, out.number, ex.encrypted)
        return write_ok(), ex

    # --- replies --------------------------------------------------------------

    def _reply(self, body, seal: Seal, ex: Exchange) -> bytes:
        self.history.append(ex)
        return respond(body, seal)

    @staticmethod
    def _fail(ex: Exchange, code: int) -> tuple[Packet, Exchange]:
        """Answer ``code`` and record ``ex`` as that error."""
        ex.kind, ex.code = "error", code
        return error(code), ex

    def _tls(self, body: bytes) -> bytes:
        if self.tls is None:
            self.tls = TLSService(self.keys, required=False)
        answer, ex = self.tls.handle(body[0], body[1:], self.execute)
        self.history.append(ex)
        return len(answer).to_bytes(LEN_LEN, "big") + answer

    def _auth_failure(self, body: bytes) -> bytes | None:
        if len(body) <= DIGEST_LEN:
            return None
        # No key verified it: answer in clear, digested as under the first key.
        key = self.keys[0]
        state = key.digest_state()
        state.update(body[:-DIGEST_LEN])
        seal = Seal(key, body[-DIGEST_LEN:], state, None)
        self.history.append(Exchange("auth", AUTH_FAILURE))
        return respond(error(AUTH_FAILURE), seal)

