"""TLS-PSK sessions of a MEP port, opened with the meter's keys.

A MEP port set to require TLS speaks TLS 1.2 with one cipher suite,
TLS_PSK_WITH_AES_256_GCM_SHA384, keyed with the first 16 bytes of the MBK or
MAK; the client's PSK identity says which (client id, 2 bytes least
significant first, then the key id).  The TLS records ride in MEP frames
after the one-byte code, and a record may be cut across frames, so each
direction is a byte stream of its own (:class:`RecordStream`).

:class:`SessionTracker` follows the handshakes of a capture, derives each
session's master secret (RFC 4279 premaster, the TLS 1.2 PRF with SHA-384,
RFC 7627 extended master secret when both sides ask for it) and opens the
records with AES-256-GCM from ``cryptography``; nothing of TLS is written
here but the key schedule, which Wireshark also needs (a key log line per
session: :meth:`Session.keylog_line`).  A session whose key is missing or
wrong stays closed and says so; it never yields made-up plaintext, since
the GCM tag must verify.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .codes import TLS_START
from .framespec import PSK_IDENTITY_LEN, PSK_KEY_IDS, TLS_CLIENT_KEY_EXCHANGE
from .framespec import TLS_HANDSHAKE as HANDSHAKE
from .security import KEY_LEN, Key

CIPHER_SUITE = 0x00A9
"""TLS_PSK_WITH_AES_256_GCM_SHA384: the only suite a MEP port offers."""
TLS12 = b"\x03\x03"

CHANGE_CIPHER_SPEC, APPLICATION_DATA = 20, 23
CLIENT_HELLO, SERVER_HELLO, FINISHED = 1, 2, 20
CLIENT_KEY_EXCHANGE = TLS_CLIENT_KEY_EXCHANGE
EXTENDED_MASTER_SECRET = 0x0017
"""Extension number (RFC 7627): the master secret then covers the handshake hash."""

RECORD_HEADER = 5
RANDOM_LEN = 32
MASTER_LEN = 48
KEY_BYTES, SALT_BYTES, EXPLICIT_NONCE, TAG_LEN = 32, 4, 8, 16
"""AES-256-GCM as TLS 1.2 uses it: 4 bytes of implicit salt per side, 8 bytes
of explicit nonce before each record's ciphertext, a 16-byte tag after it."""

CLIENT, SERVER = 0, 1
"""Directions as the capture gives them: the client (module) writes, the meter answers."""


def prf(secret: bytes, label: bytes, seed: bytes, size: int) -> bytes:
    """TLS 1.2 PRF (RFC 5246, 5) with the suite's hash, SHA-384."""
    seed = label + seed
    out, a = b"", seed
    while len(out) < size:
        a = hmac.new(secret, a, hashlib.sha384).digest()
        out += hmac.new(secret, a + seed, hashlib.sha384).digest()
    return out[:size]


def psk_premaster(psk: bytes) -> bytes:
    """RFC 4279, 2: zeros as long as the PSK, then the PSK, each with a 2-byte length."""
    n = len(psk).to_bytes(2, "big")
    return n + bytes(len(psk)) + n + psk


def master_secret(
    psk: bytes, client_random: bytes, server_random: bytes, session_hash: bytes | None = None
) -> bytes:
    """The 48-byte master secret; with ``session_hash`` the extended one (RFC 7627)."""
    pre = psk_premaster(psk[:KEY_LEN])
    if session_hash is not None:
        return prf(pre, b"extended master secret", session_hash, MASTER_LEN)
    return prf(pre, b"master secret", client_random + server_random, MASTER_LEN)


def parse_identity(identity: bytes) -> tuple[int, int] | None:
    """(client id, key id) of a MEP PSK identity, None when it is not one."""
    if len(identity) != PSK_IDENTITY_LEN:
        return None
    return identity[0] | (identity[1] << 8), identity[2]


def identity_in(records: bytes) -> tuple[int, int] | None:
    """The MEP PSK identity of a ClientKeyExchange among whole records in clear, if any."""
    at = 0
    while at + RECORD_HEADER <= len(records):
        size = int.from_bytes(records[at + 3 : at + 5], "big")
        frag = records[at + RECORD_HEADER : at + RECORD_HEADER + size]
        if records[at] == HANDSHAKE and frag[:1] == bytes([CLIENT_KEY_EXCHANGE]) and len(frag) > 6:
            n = int.from_bytes(frag[4:6], "big")
            return parse_identity(frag[6 : 6 + n])
        at += RECORD_HEADER + size
    return None


@dataclass
class Record:
    """One TLS record as it crossed the line, and what opening it gave."""

    content_type: int
    version: int
    payload: bytes
    """The record's fragment as sent (ciphertext once the direction is encrypted)."""
    plaintext: bytes | None = None
    """The opened fragment (None while no key opens it, or for records sent in clear)."""
    encrypted: bool = False
    problem: str | None = None


class RecordStream:
    """One direction's TLS bytes cut into records, whatever the frame boundaries."""

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, data: bytes) -> list[tuple[int, int, bytes]]:
        """Add bytes; return the records they complete (type, version, fragment)."""
        buf = self.pending + data
        out = []
        while len(buf) >= RECORD_HEADER:
            size = int.from_bytes(buf[3:5], "big")
            if len(buf) < RECORD_HEADER + size:
                break
            out.append((buf[0], int.from_bytes(buf[1:3], "big"), buf[5 : RECORD_HEADER + size]))
            buf = buf[RECORD_HEADER + size :]
        self.pending = buf
        return out


@dataclass
class _Cipher:
    aead: object
    salt: bytes
    seq: int = 0

    def open(self, content_type: int, version: int, fragment: bytes) -> bytes:
        nonce = self.salt + fragment[:EXPLICIT_NONCE]
        body = fragment[EXPLICIT_NONCE:]
        aad = (
            self.seq.to_bytes(8, "big")
            + bytes([content_type])
            + version.to_bytes(2, "big")
            + (len(body) - TAG_LEN).to_bytes(2, "big")
        )
        self.seq += 1
        return self.aead.decrypt(nonce, body, aad)  # type: ignore[attr-defined]


@dataclass
class Session:
    """One TLS session: from a client's first handshake message to the next."""

    client_random: bytes | None = None
    server_random: bytes | None = None
    suite: int | None = None
    ems: bool = False
    identity: tuple[int, int] | None = None
    key: Key | None = None
    master: bytes | None = None
    problem: str | None = None
    _transcript: list[bytes] = field(default_factory=list, repr=False)
    _offered_ems: bool = False
    _ciphers: dict[int, _Cipher] = field(default_factory=dict, repr=False)
    _encrypted: set[int] = field(default_factory=set, repr=False)
    _handshake: dict[int, bytes] = field(default_factory=lambda: {CLIENT: b"", SERVER: b""})

    @property
    def key_name(self) -> str | None:
        return PSK_KEY_IDS.get(self.identity[1]) if self.identity else None

    def keylog_line(self) -> str | None:
        """``CLIENT_RANDOM <hex> <hex>``, the NSS key log line Wireshark reads."""
        if self.master is None or self.client_random is None:
            return None
        return f"CLIENT_RANDOM {self.client_random.hex()} {self.master.hex()}"

    # -- handshake messages -------------------------------------------------
    def _handshake_message(self, direction: int, msg: bytes, keys: dict[str, Key]) -> None:
        kind, body = msg[0], msg[4:]
        if kind != FINISHED:
            self._transcript.append(msg)
        try:
            if kind == CLIENT_HELLO:
                self.client_random = body[2 : 2 + RANDOM_LEN]
                self._offered_ems = EXTENDED_MASTER_SECRET in _hello_extensions(body, server=False)
            elif kind == SERVER_HELLO:
                self.server_random = body[2 : 2 + RANDOM_LEN]
                sid = body[2 + RANDOM_LEN]
                at = 3 + RANDOM_LEN + sid
                self.suite = int.from_bytes(body[at : at + 2], "big")
                self.ems = self._offered_ems and (
                    EXTENDED_MASTER_SECRET in _hello_extensions(body, server=True)
                )
            elif kind == CLIENT_KEY_EXCHANGE:
                n = int.from_bytes(body[:2], "big")
                self.identity = parse_identity(body[2 : 2 + n])
                self._derive(keys)
        except IndexError:
            self.problem = "handshake message cut short"

    def _derive(self, keys: dict[str, Key]) -> None:
        name = self.key_name
        if self.identity is None:
            self.problem = "PSK identity is not a MEP identity (client id, key id)"
            return
        if name is None:
            self.problem = f"PSK identity names key id {self.identity[1]}, not MBK (0) or MAK (1)"
            return
        if self.suite not in (None, CIPHER_SUITE):
            self.problem = f"cipher suite 0x{self.suite:04X} is not the MEP suite"
            return
        key = keys.get(name)
        if key is None or self.client_random is None or self.server_random is None:
            self.problem = f"no key opens this session ({name} not given)" if key is None else (
                "handshake hellos not captured"
            )
            return
        session_hash = None
        if self.ems:
            session_hash = hashlib.sha384(b"".join(self._transcript)).digest()
        self.key = key
        self.master = master_secret(key.raw, self.client_random, self.server_random, session_hash)

    def _cipher(self, direction: int) -> _Cipher | None:
        if self.master is None:
            return None
        if direction not in self._ciphers:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            assert self.client_random is not None and self.server_random is not None
            block = prf(
                self.master,
                b"key expansion",
                self.server_random + self.client_random,
                2 * (KEY_BYTES + SALT_BYTES),
            )
            at_key = 0 if direction == CLIENT else KEY_BYTES
            at_salt = 2 * KEY_BYTES + (0 if direction == CLIENT else SALT_BYTES)
            self._ciphers[direction] = _Cipher(
                AESGCM(block[at_key : at_key + KEY_BYTES]), block[at_salt : at_salt + SALT_BYTES]
            )
        return self._ciphers[direction]

    # -- records --------------------------------------------------------------
    def record(
        self, direction: int, content_type: int, version: int, fragment: bytes,
        keys: dict[str, Key],
    ) -> Record:
        rec = Record(content_type, version, fragment)
        if content_type == CHANGE_CIPHER_SPEC:
            self._encrypted.add(direction)
            return rec
        data = fragment
        if direction in self._encrypted:
            rec.encrypted = True
            cipher = self._cipher(direction)
            if cipher is None:
                rec.problem = self.problem or "no key opens this session"
                return rec
            if len(fragment) < EXPLICIT_NONCE + TAG_LEN:
                rec.problem = "encrypted record shorter than nonce and tag"
                return rec
            try:
                data = cipher.open(content_type, version, fragment)
            except Exception:  # noqa: BLE001 - cryptography's InvalidTag
                rec.problem = f"no key opens this session ({self.key_name} does not verify)"
                self.problem = rec.problem
                self.master = None  # a wrong secret is worth nothing in a key log
                self._ciphers.clear()
                return rec
            rec.plaintext = data
        if content_type == HANDSHAKE:
            buf = self._handshake[direction] + data
            while len(buf) >= 4 and len(buf) >= 4 + int.from_bytes(buf[1:4], "big"):
                size = 4 + int.from_bytes(buf[1:4], "big")
                self._handshake_message(direction, buf[:size], keys)
                buf = buf[size:]
            self._handshake[direction] = buf
        return rec


def _hello_extensions(body: bytes, server: bool) -> set[int]:
    """Extension numbers of a ClientHello/ServerHello body (after the 4-byte header)."""
    at = 2 + RANDOM_LEN
    at += 1 + body[at]  # session id
    if server:
        at += 3  # cipher suite, compression method
    else:
        at += 2 + int.from_bytes(body[at : at + 2], "big")  # cipher suites
        at += 1 + body[at]  # compression methods
    if at + 2 > len(body):
        return set()
    end = min(len(body), at + 2 + int.from_bytes(body[at : at + 2], "big"))
    at += 2
    found = set()
    while at + 4 <= end:
        found.add(int.from_bytes(body[at : at + 2], "big"))
        at += 4 + int.from_bytes(body[at + 2 : at + 4], "big")
    return found


class SessionTracker:
    """Follows TLS sessions through a capture's MEP TLS frames, in capture order.

    ``frame(direction, code, payload)`` takes one TLS frame's bytes after its
    code byte and returns the records it completes, opened where a key does.
    A client frame with the handshake code starts a new session (the meter
    drops any earlier one); what arrives before any handshake belongs to no
    session and cannot be opened.
    """

    HANDSHAKE_CODE = TLS_START

    def __init__(self, keys: Iterable[Key] = ()):
        self.keys = {k.name: k for k in keys}
        self.sessions: list[Session] = []
        self._streams = {CLIENT: RecordStream(), SERVER: RecordStream()}

    @property
    def current(self) -> Session | None:
        return self.sessions[-1] if self.sessions else None

    def frame(self, direction: int, code: int | None, payload: bytes) -> list[Record]:
        if direction == CLIENT and code == self.HANDSHAKE_CODE:
            self.sessions.append(Session())
            self._streams = {CLIENT: RecordStream(), SERVER: RecordStream()}
        out = []
        session = self.current
        for content_type, version, fragment in self._streams[direction].feed(payload):
            if session is None:
                out.append(
                    Record(content_type, version, fragment, problem="no TLS handshake seen before")
                )
                continue
            out.append(session.record(direction, content_type, version, fragment, self.keys))
        return out

    def keylog(self) -> Iterator[str]:
        """One NSS key log line per session whose master secret is known."""
        seen = set()
        for s in self.sessions:
            line = s.keylog_line()
            if line and line not in seen:
                seen.add(line)
                yield line
