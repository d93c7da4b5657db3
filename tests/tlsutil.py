"""Real TLS-PSK sessions (python-mbedtls on both ends) as a capture delivers them."""

from __future__ import annotations

import pytest

from mepshark.dissector.tlsendpoint import KEY_IDS, Endpoint

TLS_HANDSHAKE, TLS_HANDSHAKE_CONT, TLS_TABLE = 0x58, 0x59, 0x80


def mbedtls_flights(
    key: bytes, client_id: int, key_id: int, exchanges: list[tuple[bytes, bytes]]
) -> list[tuple[int, int, bytes]]:
    """(direction, code, records) of a handshake and request/response exchanges.

    Each client flight is one request frame (0x58 first, then 0x59, 0x80 for
    application data); each meter flight one success response (code 0x00).
    """
    pytest.importorskip("mbedtls", reason="python-mbedtls (mepshark[tls]) is not installed")
    name = {v: k for k, v in KEY_IDS.items()}[key_id]
    client = Endpoint.client(key, client_id, name)
    meter = Endpoint.server({name: key})
    flights: list[tuple[int, int, bytes]] = []
    code = TLS_HANDSHAKE
    while not (client.established and meter.established):
        client.step()
        out = client.outgoing()
        if out:
            flights.append((0, code, out))
            code = TLS_HANDSHAKE_CONT
            meter.feed(out)
        meter.step()
        back = meter.outgoing()
        if back:
            flights.append((1, 0x00, back))
            client.feed(back)
        if not out and not back and len(flights) > 20:
            raise RuntimeError("handshake made no progress")
    for request, response in exchanges:
        rec = client.send(request)
        flights.append((0, TLS_TABLE, rec))
        meter.feed(rec)
        assert meter.receive() == request
        back = meter.send(response)
        flights.append((1, 0x00, back))
        client.feed(back)
        assert client.receive() == response
    return flights
