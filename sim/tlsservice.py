"""The simulated meter's TLS side: MEP codes 0x57-0x59 and 0x80 (guide, TLS security).

* 0x58 starts a handshake and drops any session in progress; 0x59 carries
  the handshake's further flights; both are answered 0x00 with the meter's
  records, 0x03 when the identity names no key the meter has or the client's
  Finished does not open with it (wrong key), 0x01 on any other TLS failure;
* 0x80 carries one encrypted request (code and data, no sequence number, no
  digest): answered 0x00 with the encrypted answer, or 0x0A when no session
  is established;
* 0x57 ends the session (it must carry at least one byte).

The key that secures the session is the one the client's PSK identity names,
and it is the key whose rights apply to the requests (as the RC4 digest's
key does).  TLS itself is python-mbedtls (:mod:`mepshark.dissector.tlsendpoint`).
"""

from __future__ import annotations

from collections.abc import Callable

from scapy.packet import Packet

from mepshark.dissector.builders import error
from mepshark.dissector.codes import (
    TLS_BAD_KEY,
    TLS_CONTINUE,
    TLS_FAILED,
    TLS_NO_SESSION,
    TLS_START,
    TLS_SUCCESS,
    TLS_TABLE,
    TLS_TERMINATE,
)
from mepshark.dissector.security import Key
from mepshark.dissector.tlsendpoint import Endpoint, TLSUnavailable
from mepshark.dissector.tlsplain import parse_request, response_plaintext
from mepshark.dissector.tlspsk import PSK_KEY_IDS, identity_in

from .exchange import Exchange

SUCCESS, TLS_ERROR, INVALID_IDENTITY, INVALID_SERVICE_SEQUENCE = (
    TLS_SUCCESS, TLS_FAILED, TLS_BAD_KEY, TLS_NO_SESSION)
TLS_HANDSHAKE, TLS_HANDSHAKE_CONT = TLS_START, TLS_CONTINUE
_IDENTITY_FAILURES = ("UNKNOWN_IDENTITY", "PSK_IDENTITY", "BAD_RECORD_MAC", "MAC", "DECRYPT")
"""Mbed TLS error names that mean the identity or the key did not fit."""

Execute = Callable[[Packet, str, bool], tuple[Packet, Exchange]]


class TLSService:
    """One MEP port's TLS state: at most one session, as the meter keeps."""

    def __init__(self, keys: list[Key], required: bool = True) -> None:
        self.keys = {k.name: k.raw for k in keys}
        self.required = required
        """RC4 requests are refused (0x02) when set, as on a port configured for TLS."""
        self.endpoint: Endpoint | None = None
        self.key_name: str | None = None

    @property
    def active(self) -> bool:
        """A session is established (RC4 requests are refused until it ends)."""
        return self.endpoint is not None and self.endpoint.established

    def handle(self, code: int, data: bytes, execute: Execute) -> tuple[bytes, Exchange]:
        """The response body (code and records) to one TLS request."""
        if code == TLS_TERMINATE:
            self.endpoint = self.key_name = None
            return bytes([SUCCESS]), Exchange("tls", SUCCESS)
        if code == TLS_HANDSHAKE:
            self.key_name = None
            try:
                self.endpoint = Endpoint.server(self.keys)
            except TLSUnavailable:  # no python-mbedtls: this meter cannot do TLS
                self.endpoint = None
                return bytes([TLS_ERROR]), Exchange("tls", TLS_ERROR)
        if code in (TLS_HANDSHAKE, TLS_HANDSHAKE_CONT):
            return self._handshake(data)
        if code == TLS_TABLE:
            return self._table(data, execute)
        return bytes([TLS_ERROR]), Exchange("tls", TLS_ERROR)

    def _handshake(self, data: bytes) -> tuple[bytes, Exchange]:
        ep = self.endpoint
        if ep is None or ep.established:
            return bytes([INVALID_SERVICE_SEQUENCE]), Exchange("tls", INVALID_SERVICE_SEQUENCE)
        ident = identity_in(data)
        self.key_name = self.key_name or (PSK_KEY_IDS.get(ident[1]) if ident else None)
        ep.feed(data)
        try:
            ep.step()
        except Exception as exc:  # noqa: BLE001 - the library's TLSError, by name
            self.endpoint = None
            text = str(exc).upper()
            code = INVALID_IDENTITY if any(n in text for n in _IDENTITY_FAILURES) else TLS_ERROR
            return bytes([code]) + ep.outgoing(), Exchange("tls", code, self.key_name)
        return bytes([SUCCESS]) + ep.outgoing(), Exchange("tls", SUCCESS, self.key_name)

    def _table(self, data: bytes, execute: Execute) -> tuple[bytes, Exchange]:
        ep = self.endpoint
        if ep is None or not ep.established or self.key_name is None:
            return bytes([INVALID_SERVICE_SEQUENCE]), Exchange("tls", INVALID_SERVICE_SEQUENCE)
        ep.feed(data)
        try:
            plain = ep.receive()
        except Exception:  # noqa: BLE001 - a record that does not open ends the session
            self.endpoint = None
            return bytes([TLS_ERROR]), Exchange("tls", TLS_ERROR, self.key_name)
        request = parse_request(plain)
        if request is None:
            answer, ex = error(0x01), Exchange("error", 0x01, self.key_name, encrypted=True)
        else:
            answer, ex = execute(request, self.key_name, True)
        return bytes([SUCCESS]) + ep.send(response_plaintext(answer)), ex

