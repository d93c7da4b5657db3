"""Sealing and opening RC4-secured MEP bodies (guide chapter 2, Appendices A, B).

A request body is ``code, code data, sequence`` (the *protected* bytes)
followed by the digest of those bytes.  A response body is ``code, data``
followed by the digest of the request's protected bytes and then the
response's.  When the client encrypts a request, the protected bytes are
RC4-encrypted with a key made from the MEP key and the request's digest,
and the response (all but the digest) continues the same keystream; the
digests are always over the plain bytes.  An authentication failure (0x0B)
is never encrypted.

The simulator and client *seal*; the capture context and the client *open*.
A :class:`Seal` is the request-side state that the response needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scapy.packet import Packet

from .frames import AUTH_FAILURE, DIGEST_LEN, LEN_LEN, RC4_REQUESTS
from .security import RC4, DigestState, Key


@dataclass
class Seal:
    """What a request left behind for its response: key, digest state, cipher."""

    key: Key
    digest: bytes
    state: DigestState
    """Digest state after the request's protected bytes (not finalised)."""
    cipher: RC4 | None
    """Keystream position after the request; None for a plain request."""

    @property
    def encrypted(self) -> bool:
        return self.cipher is not None


def _protected(frame: Packet) -> bytes:
    """A built frame's bytes between the length field and the digest."""
    return bytes(frame)[LEN_LEN:-DIGEST_LEN]


def _frame(body: bytes) -> bytes:
    return len(body).to_bytes(LEN_LEN, "big") + body


def seal_request(frame: Packet, key: Key, encrypt: bool = False) -> tuple[bytes, Seal]:
    """Digest (and optionally encrypt) a request frame.

    ``frame`` is a request packet; its digest field is ignored.  Returns the
    frame as it goes on the wire and the request's :class:`Seal`.
    """
    plain = _protected(frame)
    state = key.digest_state()
    state.update(plain)
    digest = state.copy().update(b"", final=True)
    cipher = None
    wire = plain
    if encrypt:
        cipher = key.cipher(digest)
        wire = cipher.crypt(plain)
    return _frame(wire + digest), Seal(key, digest, state, cipher)


def open_request(
    raw: bytes, keys: Iterable[Key], try_plain: bool = True
) -> tuple[bytes, Seal] | None:
    """Find the key that verifies a request body, as the meter does.

    ``raw`` is the body (no length field).  Each key is tried on the plain
    bytes first, then all keys on the decrypted bytes.  Returns the plain
    body (with its digest) and the seal, or None when no key verifies it.
    """
    if len(raw) <= DIGEST_LEN:
        return None
    protected, digest = raw[:-DIGEST_LEN], raw[-DIGEST_LEN:]
    keys = list(keys)
    if try_plain:
        for key in keys:
            state = key.digest_state()
            state.update(protected)
            if state.copy().update(b"", final=True) == digest:
                return raw, Seal(key, digest, state, None)
    for key in keys:
        cipher = key.cipher(digest)
        plain = cipher.crypt(protected)
        if plain[0] not in RC4_REQUESTS:
            continue
        state = key.digest_state()
        state.update(plain)
        if state.copy().update(b"", final=True) == digest:
            return plain + digest, Seal(key, digest, state, cipher)
    return None


def seal_response(frame: Packet, seal: Seal) -> bytes:
    """Digest a response frame after its request (encrypted if the request was).

    Returns the frame as it goes on the wire.
    """
    plain = _protected(frame)
    digest = seal.state.copy().update(plain, final=True)
    if seal.cipher is not None and plain[:1] != bytes([AUTH_FAILURE]):
        plain = seal.cipher.copy().crypt(plain)
    return _frame(plain + digest)


def open_response(raw: bytes, seal: Seal) -> tuple[bytes, bool, bool]:
    """Decrypt (if the request was encrypted) and verify a response body (no length field).

    Returns the plain body with its digest, whether the digest matched and
    whether the body was decrypted.  An encrypted request's response that
    fails to verify decrypted is also tried plain (an authentication
    failure is sent in clear).
    """
    if len(raw) <= DIGEST_LEN:
        return raw, False, False
    data, digest = raw[:-DIGEST_LEN], raw[-DIGEST_LEN:]
    if seal.cipher is not None:
        plain = seal.cipher.copy().crypt(data)
        if seal.state.copy().update(plain, final=True) == digest:
            return plain + digest, True, True
    return raw, seal.state.copy().update(data, final=True) == digest, False
