"""What a MEP TLS session carries: C12.18 requests and responses without RC4's trailers.

Inside TLS (request code 0x80 and its answer) a request is its code and
code data, a response its code and data: the RC4 forms of the same frames
less the sequence number and digest, which TLS replaces.  The layouts are
therefore the RC4 frames' own (:mod:`.frames`); these helpers only add or
drop the trailers, so that one declaration serves both.
"""

from __future__ import annotations

from scapy.packet import Packet

from .frames import DIGEST_LEN, LEN_LEN, RC4_REQUESTS, SEQ_LEN, frame_of, response_class

REQUEST_TRAILER = SEQ_LEN + DIGEST_LEN
RESPONSE_TRAILER = DIGEST_LEN


def request_plaintext(body: Packet) -> bytes:
    """A built request (e.g. ``builders.partial_read(...)``) as TLS carries it."""
    return bytes(body)[LEN_LEN:-REQUEST_TRAILER]


def response_plaintext(body: Packet) -> bytes:
    """A built response (``builders.read_ok(...)`` ...) as TLS carries it."""
    return bytes(body)[LEN_LEN:-RESPONSE_TRAILER]


def parse_request(plain: bytes) -> Packet | None:
    """The request a TLS plaintext holds; None when its code is no table request."""
    if not plain or plain[0] not in RC4_REQUESTS:
        return None
    return frame_of(RC4_REQUESTS[plain[0]], plain + bytes(REQUEST_TRAILER))


def parse_response(request: Packet, plain: bytes) -> Packet | None:
    """The response a TLS plaintext holds, read in the light of its request."""
    if not plain:
        return None
    padded = plain + bytes(RESPONSE_TRAILER)
    return frame_of(response_class(request, padded), padded)
