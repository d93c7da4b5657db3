"""The client's TLS-PSK channel to a MEP port (guide, TLS security).

The handshake runs in a 0x58 frame (the first flight; it resets any session
the meter had) and 0x59 frames (the flights after it), each answered 0x00
with the meter's records; then every request goes encrypted in a 0x80 frame
(code and data only: TLS replaces RC4's sequence number and digest).  A 0x0A
answer means the meter holds no session (it restarted, or timed out): the
channel handshakes again and resends once.  TLS itself is python-mbedtls.
"""

from __future__ import annotations

from scapy.packet import Packet

from mepshark.dissector.codes import (
    TLS_BAD_KEY,
    TLS_CONTINUE,
    TLS_NO_SESSION,
    TLS_START,
    TLS_TABLE,
    TLS_TERMINATE,
)
from mepshark.dissector.frames import LEN_LEN, TLS_RESPONSE_CODES
from mepshark.dissector.security import Key
from mepshark.dissector.tlsendpoint import Endpoint
from mepshark.dissector.tlsplain import request_plaintext

TLS_HANDSHAKE, TLS_HANDSHAKE_CONT = TLS_START, TLS_CONTINUE
NO_SESSION, INVALID_IDENTITY = TLS_NO_SESSION, TLS_BAD_KEY
MAX_FLIGHTS = 8
"""A TLS 1.2 PSK handshake takes two client flights; more means it is stuck."""


class TLSRefused(Exception):
    """The meter answered a TLS request with an error code (0x01, 0x03, 0x0A)."""

    def __init__(self, code: int, what: str):
        self.code = code
        name = TLS_RESPONSE_CODES.get(code, f"code 0x{code:02X}")
        super().__init__(f"{what}: meter answered 0x{code:02X} ({name})")


def _frame(code: int, records: bytes) -> bytes:
    return (1 + len(records)).to_bytes(LEN_LEN, "big") + bytes([code]) + records


class TLSChannel:
    """Requests through one TLS session at a time, handshaking when there is none."""

    def __init__(self, transact, key: Key, client_id: int = 1) -> None:
        self.transact = transact
        """Sends a frame and returns the response frame (``Link.transact``)."""
        self.key = key
        self.client_id = client_id
        self.endpoint: Endpoint | None = None
        self.handshakes = 0

    def handshake(self) -> None:
        ep = Endpoint.client(self.key.raw, self.client_id, self.key.name)
        code = TLS_HANDSHAKE
        for _ in range(MAX_FLIGHTS):
            ep.step()
            if ep.established:
                self.endpoint = ep
                self.handshakes += 1
                return
            answer = self.transact(_frame(code, ep.outgoing()))
            code = TLS_HANDSHAKE_CONT
            if len(answer) <= LEN_LEN or answer[LEN_LEN] != 0:
                self.endpoint = None
                raise TLSRefused(answer[LEN_LEN] if len(answer) > LEN_LEN else 0x01,
                                 f"TLS handshake ({self.key.name})")
            ep.feed(answer[LEN_LEN + 1 :])
        raise TLSRefused(0x01, "TLS handshake did not finish")

    def request(self, body: Packet) -> bytes:
        """Send a request body; return the plaintext of its answer (code and data)."""
        for attempt in range(2):
            if self.endpoint is None:
                self.handshake()
            assert self.endpoint is not None
            answer = self.transact(_frame(TLS_TABLE, self.endpoint.send(request_plaintext(body))))
            code = answer[LEN_LEN] if len(answer) > LEN_LEN else 0x01
            if code == NO_SESSION and attempt == 0:
                self.endpoint = None  # the meter lost the session: handshake again
                continue
            if code != 0:
                self.endpoint = None
                raise TLSRefused(code, "TLS table request")
            self.endpoint.feed(answer[LEN_LEN + 1 :])
            plain = self.endpoint.receive()
            if not plain:
                raise TLSRefused(0x01, "TLS table request: no whole record in the answer")
            return plain
        raise TLSRefused(NO_SESSION, "TLS table request")

    def close(self) -> None:
        """End the session (0x57 with one byte, as the guide asks)."""
        if self.endpoint is not None:
            self.endpoint = None
            self.transact(_frame(TLS_TERMINATE, b"\x00"))
