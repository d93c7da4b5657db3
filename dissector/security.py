"""MEP security: the authentication digest (guide, Appendix A), RC4 encryption
(Appendix B) and the MBK/MAK keys.

Everything here works on plain bytes so that the scapy layers, the capture
context, the simulator and the client share one implementation.  Key material
is held in :class:`Key` objects whose ``repr``/``str`` never show the bytes:
keys must not reach logs, captures or test output (docs/architecture.md, "Keys").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

KEY_LEN = 16
"""Only the first 16 bytes of a (up to 20 byte) meter key are used."""

DIGEST_LEN = 8

# Appendix B: the fixed 128-bit value that is RC4-encrypted under the MEP key
# to give the per-key encryption base key.
_CONST_KEY = bytes.fromhex("388b8fbc36a8558587afc90fb23a3b99")

KEY_NAMES = ("MAK", "MBK")
"""Order in which the meter tries the keys: MAK first, then MBK (chapter 2,
Access Levels)."""


# ---------------------------------------------------------------------------
# Digest (Appendix A)
#
# The digest is a keyed 8-byte accumulator.  Each message byte is combined
# with one *bit* of the key: key byte i, bit j (least significant first)
# updates accumulator slot v = 7 - j.  A "round" walks the key 1.5 times
# (24 key bytes for a 16-byte key, or exactly once for a 6-byte key), so a
# round consumes 8 * 24 = 192 message bytes.  When the message ends inside a
# round and the call is final, the rest of the round is fed zero bytes.  A
# non-final call stops mid-round and keeps the position, which is how a
# response digest continues from the request it answers.
#
# For speed the per-step arithmetic is tabulated: for key bit b and slot v
# the added term depends only on the slot's old value x, through
# n = ~(x + v), rotated left (b = 1) or subtracted rotated right (b = 0).
# ---------------------------------------------------------------------------


def _step_table(bit: int, v: int) -> list[int]:
    table = []
    for x in range(256):
        n = ~(x + v) & 0xFF
        if bit:
            term = ((n << 1) | (n >> 7)) & 0xFF
        else:
            term = -(((n >> 1) | (n << 7)) & 0xFF) & 0xFF
        table.append(term)
    return table


_TABLES = [[_step_table(b, v) for v in range(8)] for b in (0, 1)]


def _round_bytes(key_len: int) -> int:
    """Key bytes walked per round: 1.5 x the key, or the key once if it is 6 bytes."""
    return key_len if key_len == 6 else key_len + key_len // 2


class DigestState:
    """Running digest: 8 accumulator bytes plus the position in the key round.

    ``update(data, final=False)`` may be called repeatedly; ``final=True``
    pads the round and returns the digest.  ``copy()`` snapshots the state,
    which the capture context keeps per request to verify the response.
    """

    __slots__ = ("acc", "pos", "_steps")

    def __init__(self, steps: tuple[tuple[int, list[int]], ...]):
        self.acc = [0] * 8
        self.pos = 0
        self._steps = steps

    @classmethod
    def for_key(cls, key: bytes) -> DigestState:
        """A fresh state for any key length (the guide's keys have 16 bytes)."""
        return cls(_digest_steps(key))

    def copy(self) -> DigestState:
        other = DigestState(self._steps)
        other.acc = self.acc[:]
        other.pos = self.pos
        return other

    def update(self, data: bytes, final: bool = False) -> bytes:
        # Steps one by one up to a key byte boundary, then eight at a time (a
        # key byte's eight bits write slots 7 down to 0, each step adding the
        # slot written just before), which is what makes a digest affordable
        # on every frame of a long capture; then the rest one by one again.
        steps = self._steps
        period = len(steps)
        octets = getattr(steps, "octets", None) or _octets(steps)
        acc = self.acc
        pos = self.pos
        n = len(data)
        i = 0
        # The previously written slot is slot v+1 (or slot 0 at a key byte
        # boundary); with the position encoded as key_byte*8 + bit, that is
        # slot (8 - bit) & 7.
        last = acc[(8 - (pos & 7)) & 7]
        while i < n and pos & 7:
            v, table = steps[pos]
            last = acc[v] = (last + data[i] + table[acc[v]]) & 0xFF
            i += 1
            pos += 1
        if pos == period:
            pos = 0
        if n - i >= 8:
            a0, a1, a2, a3, a4, a5, a6, a7 = acc
            while n - i >= 8:
                t7, t6, t5, t4, t3, t2, t1, t0 = octets[pos >> 3]
                m0, m1, m2, m3, m4, m5, m6, m7 = data[i:i + 8]
                a7 = (a0 + m0 + t7[a7]) & 0xFF
                a6 = (a7 + m1 + t6[a6]) & 0xFF
                a5 = (a6 + m2 + t5[a5]) & 0xFF
                a4 = (a5 + m3 + t4[a4]) & 0xFF
                a3 = (a4 + m4 + t3[a3]) & 0xFF
                a2 = (a3 + m5 + t2[a2]) & 0xFF
                a1 = (a2 + m6 + t1[a1]) & 0xFF
                a0 = (a1 + m7 + t0[a0]) & 0xFF
                i += 8
                pos += 8
                if pos == period:
                    pos = 0
            acc[:] = a0, a1, a2, a3, a4, a5, a6, a7
            last = a0
        while i < n:
            v, table = steps[pos]
            last = acc[v] = (last + data[i] + table[acc[v]]) & 0xFF
            i += 1
            pos += 1
            if pos == period:
                pos = 0
        if final:
            # A final call pads the current round with zeros, except when the
            # message ended exactly on a round boundary.
            if pos or not data:
                while pos & 7:
                    v, table = steps[pos]
                    last = acc[v] = (last + table[acc[v]]) & 0xFF
                    pos += 1
                a0, a1, a2, a3, a4, a5, a6, a7 = acc
                for t7, t6, t5, t4, t3, t2, t1, t0 in octets[pos >> 3:]:
                    a7 = (a0 + t7[a7]) & 0xFF
                    a6 = (a7 + t6[a6]) & 0xFF
                    a5 = (a6 + t5[a5]) & 0xFF
                    a4 = (a5 + t4[a4]) & 0xFF
                    a3 = (a4 + t3[a3]) & 0xFF
                    a2 = (a3 + t2[a2]) & 0xFF
                    a1 = (a2 + t1[a1]) & 0xFF
                    a0 = (a1 + t0[a0]) & 0xFF
                acc[:] = a0, a1, a2, a3, a4, a5, a6, a7
            pos = 0
        self.pos = pos
        return bytes(acc)


_OCTETS: dict[int, tuple] = {}


def _octets(steps: tuple) -> tuple:
    """The step tables grouped by key byte (slots 7 down to 0), per step schedule."""
    found = _OCTETS.get(id(steps))
    if found is None or found[0] is not steps:
        found = (steps, tuple(tuple(steps[k + j][1] for j in range(8))
                              for k in range(0, len(steps), 8)))
        if len(_OCTETS) > 64:
            _OCTETS.clear()
        _OCTETS[id(steps)] = found
    return found[1]


class _Steps(tuple):
    """A key's step schedule, with its tables grouped by key byte (``octets``)."""


def _digest_steps(key: bytes) -> tuple[tuple[int, list[int]], ...]:
    steps = []
    for i in range(_round_bytes(len(key))):
        kb = key[i % len(key)]
        for j in range(8):
            bit = (kb >> j) & 1
            steps.append((7 - j, _TABLES[bit][7 - j]))
    out = _Steps(steps)
    out.octets = _octets(out)
    return out


# ---------------------------------------------------------------------------
# RC4 (Appendix B)
# ---------------------------------------------------------------------------


class RC4:
    """Plain RC4 whose keystream position carries over between calls.

    The meter decrypts a request and then encrypts its response with the same
    cipher state, so the state must be copyable and resumable.
    """

    __slots__ = ("s", "x", "y")

    def __init__(self, key: bytes):
        s = list(range(256))
        j = 0
        klen = len(key)
        for i in range(256):
            j = (j + s[i] + key[i % klen]) & 0xFF
            s[i], s[j] = s[j], s[i]
        self.s, self.x, self.y = s, 0, 0

    def copy(self) -> RC4:
        other = RC4.__new__(RC4)
        other.s, other.x, other.y = self.s[:], self.x, self.y
        return other

    def crypt(self, data: bytes) -> bytes:
        s, x, y = self.s, self.x, self.y
        out = bytearray(len(data))
        for k, b in enumerate(data):
            x = (x + 1) & 0xFF
            sx = s[x]
            y = (y + sx) & 0xFF
            sy = s[y]
            s[x], s[y] = sy, sx
            out[k] = b ^ s[(sx + sy) & 0xFF]
        self.x, self.y = x, y
        return bytes(out)


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Key:
    """A MEP key (MBK or MAK), reduced to its first 16 bytes.

    ``repr`` and ``str`` show the key's name only.  The digest step table and
    the RC4 base key are derived once per key.
    """

    name: str
    raw: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.raw) < KEY_LEN:
            raise ValueError(f"{self.name}: a MEP key has 16 bytes, got {len(self.raw)}")
        object.__setattr__(self, "raw", bytes(self.raw[:KEY_LEN]))
        object.__setattr__(self, "_steps", _digest_steps(self.raw))
        object.__setattr__(self, "_enc_base", RC4(self.raw).crypt(_CONST_KEY))

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Key({self.name})"

    def digest_state(self) -> DigestState:
        return DigestState(self._steps)  # type: ignore[attr-defined]

    def digest(self, data: bytes) -> bytes:
        """Digest of a request: over the request code through the sequence number."""
        return self.digest_state().update(data, final=True)

    def cipher(self, request_digest: bytes) -> RC4:
        """The RC4 state that encrypts a request with this digest (and then its response)."""
        base = self._enc_base  # type: ignore[attr-defined]
        head = bytes(a ^ b for a, b in zip(base[:DIGEST_LEN], request_digest, strict=True))
        return RC4(head + base[DIGEST_LEN:])


def response_digest(key: Key, request: bytes, response: bytes) -> bytes:
    """Digest of a response: the request's protected bytes, then the response's."""
    state = key.digest_state()
    state.update(request)
    return state.update(response, final=True)


# The forms a key may be written in.  The Lua dissector's key preferences
# follow the same rules: luagen hands it this data, and the differential test
# (tests/test_security.py) runs both parsers on the same strings.

MAX_KEY_LEN = 20
"""A meter stores keys of up to 20 bytes (guide, chapter 2)."""
KEY_HEX_PREFIX = "hex:"
KEY_ASCII_PREFIX = "ascii:"
KEY_SEPARATORS = " :-_."
"""Allowed between the hex digits of a key (with an optional leading ``0x``)."""
KEY_BARE_LENGTHS = (KEY_LEN, MAX_KEY_LEN)
"""Bytes a key without prefix may have: 16, or 20 as the meter stores it.  Exact
lengths only, so that a mistyped hex key cannot pass as a different ASCII key."""
KEY_HEXLIKE_MIN = 24
"""A key text without prefix with at least this many characters (separators
aside), at most a quarter of them not hex digits, is a hex key with a typo."""
KEY_FORMS = (
    "a key is 32 or 40 hex digits, 16 or 20 ASCII characters, "
    "hex:DIGITS (32 to 40) or ascii:TEXT (16 to 20 characters)"
)
KEY_PROBLEMS = {
    "empty": "empty",
    "not_ascii": "character {pos} is not printable ASCII",
    "not_hex": "'{char}' (position {pos}) is not a hex digit",
    "hex_count": "{count} hex digits",
    "count": "{count} characters",
}
"""What can be wrong with a key text; ``{...}`` are filled in (also by the Lua)."""


def key_problem(text: str) -> tuple[bytes | None, str | None]:
    """The key bytes a user's text stands for, or None and what is wrong with it.

    The forms are those of :data:`KEY_FORMS`; the problem never contains the
    key, at most the one character that is not a hex digit.
    """

    def problem(kind: str, **values) -> tuple[None, str]:
        return None, KEY_PROBLEMS[kind].format(**values)

    s = text.strip(" \t\n\v\f\r")  # ASCII white space, as the Lua strips it
    if not s:
        return problem("empty")
    for i, c in enumerate(s):
        if not " " <= c <= "~":
            return problem("not_ascii", pos=i + 1)
    low = s.lower()
    if low.startswith(KEY_ASCII_PREFIX):
        raw = s[len(KEY_ASCII_PREFIX):].encode("ascii")
        if KEY_LEN <= len(raw) <= MAX_KEY_LEN:
            return raw, None
        return problem("count", count=len(raw))
    explicit = low.startswith(KEY_HEX_PREFIX)
    start = len(KEY_HEX_PREFIX) if explicit else 0
    body = s[start:].lstrip(KEY_SEPARATORS)
    start = len(s) - len(body)
    if body[:2].lower() == "0x":
        start += 2
    chars = [(c, i + 1) for i, c in enumerate(s) if i >= start and c not in KEY_SEPARATORS]
    wrong = [(c, pos) for c, pos in chars if c not in "0123456789abcdefABCDEF"]
    count = len(chars)
    lengths = (range(2 * KEY_LEN, 2 * MAX_KEY_LEN + 1, 2) if explicit
               else [2 * n for n in KEY_BARE_LENGTHS])
    if not wrong and count in lengths:
        return bytes.fromhex("".join(c for c, _ in chars)), None
    if not explicit and len(s) in KEY_BARE_LENGTHS:
        return s.encode("ascii"), None
    hexlike = explicit or (count >= KEY_HEXLIKE_MIN and 4 * len(wrong) <= count)
    if wrong and hexlike:
        return problem("not_hex", char=wrong[0][0], pos=wrong[0][1])
    if not wrong:
        return problem("hex_count", count=count)
    return problem("count", count=len(s))


def parse_key(text: str | bytes, name: str = "MAK", source: str | None = None) -> Key:
    """Parse a key as a user types it (see :data:`KEY_FORMS`).

    A text that is not exactly one of the forms is a :class:`ValueError`
    naming ``source`` (default: the key's name) and the problem, never a
    silently different key.  Only the first 16 bytes are kept.
    """
    if isinstance(text, bytes):
        return Key(name, text)
    raw, problem = key_problem(text)
    if raw is None:
        raise ValueError(f"{source or name}: {problem}; {KEY_FORMS}")
    return Key(name, raw)


def load_keys(
    mbk: str | None = None,
    mak: str | None = None,
    key_file: str | os.PathLike | None = None,
    environ: dict[str, str] | None = None,
) -> list[Key]:
    """Collect keys from arguments, a key file and the environment.

    The key file has lines ``MBK=…`` / ``MAK=…`` (``#`` comments allowed);
    the environment variables are ``MEP_MBK`` and ``MEP_MAK``.  Arguments win
    over the file, the file over the environment.  Returned MAK first, the
    order in which the meter tries them.  An error names where the bad key
    came from (``MEP_MAK``, ``keys.txt:3``, ``--mak``).
    """
    env = os.environ if environ is None else environ
    found: dict[str, tuple[str, str]] = {}
    for n in KEY_NAMES:
        if env.get(f"MEP_{n}"):
            found[n] = (env[f"MEP_{n}"], f"MEP_{n}")
    if key_file:
        for lineno, line in enumerate(Path(key_file).read_text().splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            n, sep, value = line.partition("=")
            n = n.strip().upper()
            if not sep or n not in KEY_NAMES:
                raise ValueError(f"{key_file}:{lineno}: expected MBK=… or MAK=…")
            found[n] = (value.strip(), f"{key_file}:{lineno}: {n}")
    if mbk:
        found["MBK"] = (mbk, "--mbk")
    if mak:
        found["MAK"] = (mak, "--mak")
    return [parse_key(found[n][0], n, found[n][1]) for n in KEY_NAMES if n in found]
