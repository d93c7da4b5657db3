"""Build MEP requests and responses as a client or a meter sends them.

The simulator, the client, the benchmarks and the tests build frames here,
from table and procedure arguments, a key and a sequence number, so that
every producer of MEP traffic shares one implementation of the framing and
the sealing (:mod:`.sealing`).
"""

from __future__ import annotations

from dataclasses import dataclass

from scapy.packet import Packet

from .frames import (
    MEPAlert,
    MEPErrorResponse,
    MEPFullTableRead,
    MEPFullTableWrite,
    MEPPartialTableRead,
    MEPPartialTableWrite,
    MEPReadResponse,
    MEPSequenceResponse,
    MEPWriteResponse,
)
from .sealing import Seal, seal_request, seal_response
from .security import Key

ALERT = bytes(MEPAlert())
"""The alert sequence: a frame of length zero."""


def full_read(table: int, count: int = 0) -> MEPFullTableRead:
    return MEPFullTableRead(table_id=table, count=count)


def partial_read(table: int, offset: int, count: int) -> MEPPartialTableRead:
    return MEPPartialTableRead(table_id=table, offset=offset, count=count)


def full_write(table: int, data: bytes) -> MEPFullTableWrite:
    return MEPFullTableWrite(table_id=table, data=data)


def partial_write(table: int, offset: int, data: bytes) -> MEPPartialTableWrite:
    return MEPPartialTableWrite(table_id=table, offset=offset, data=data)


def read_ok(data: bytes) -> MEPReadResponse:
    return MEPReadResponse(data=data)


def write_ok() -> MEPWriteResponse:
    return MEPWriteResponse()


def error(code: int) -> MEPErrorResponse:
    return MEPErrorResponse(response_code=code)


def bad_sequence(expected: int) -> MEPSequenceResponse:
    return MEPSequenceResponse(sequence=expected)


@dataclass
class Requester:
    """The client side of RC4 security: numbers, digests and encrypts requests.

    The sequence number goes up by one for every request sealed, retries
    included (guide, RC4 Authentication); ``resync`` adopts the number a
    0x0C response names.
    """

    key: Key
    sequence: int = 0
    encrypt: bool = False

    def seal(self, body: Packet) -> tuple[bytes, Seal]:
        """Number and seal a request body; return the whole frame and its seal."""
        body = body.copy()
        body.sequence = self.sequence
        self.sequence = (self.sequence + 1) & 0xFFFFFFFF
        return seal_request(body, self.key, self.encrypt)

    def resync(self, expected: int) -> None:
        self.sequence = expected & 0xFFFFFFFF


def respond(body: Packet, seal: Seal) -> bytes:
    """A meter's response frame to the request that left ``seal``."""
    return seal_response(body, seal)
