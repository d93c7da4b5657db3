"""The Lua dissector's key work (digest, RC4, the order keys are tried in) agrees
with the Python implementation, on real tshark and on plain Lua 5.2 and 5.4.

The Lua tries the likelier attempts first (docs/benchmarks.md, "Lua at a million
frames"); the meter's order gives the same answer unless two attempts both open a
frame.  These captures take every path that order opens: ciphertext whose first
byte is a request code (tried as sent first), a frame sent plain whose first byte
is none (tried decrypted first), the two keys alternating and sharing one
sequence counter, damaged frames no attempt opens, and digests whose bytes end
just before, on and after a round's boundary (192 bytes for a 16-byte key).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from luadiff import compare, differences, lua_decode, scapy_decode, shim_decode, write_records
from traffic import MAK, MBK

from mepshark.dissector import builders as b
from mepshark.dissector.context import FROM_METER, TO_METER
from mepshark.dissector.sealing import Seal
from mepshark.dissector.security import Key

ROUND = 192
"""Message bytes per digest round with a 16-byte key."""


def sealed_raw(key: Key, protected: bytes, encrypt: bool = False) -> tuple[bytes, Seal]:
    """A request frame of any protected bytes (code .. sequence), digested as a
    client does, encrypted or not: for bodies the builders would not make."""
    state = key.digest_state()
    state.update(protected)
    digest = state.copy().update(b"", final=True)
    cipher = key.cipher(digest) if encrypt else None
    wire = cipher.crypt(protected) if cipher else protected
    body = wire + digest
    return len(body).to_bytes(2, "big") + body, Seal(key, digest, state, cipher)


def encrypted_starting_with(key: Key, body, firsts: set[int], seq: int) -> bytes:
    """An encrypted request under key whose ciphertext starts with one of firsts."""
    for s in range(seq, seq + 200_000):
        wire, _ = b.Requester(key, s, encrypt=True).seal(body)
        if wire[2] in firsts:
            return wire
    raise AssertionError("no such sequence number")


def flip(frame: bytes, at: int) -> bytes:
    return frame[:at] + bytes([frame[at] ^ 0x10]) + frame[at + 1:]


def key_records() -> list[tuple[float, int, bytes]]:
    rng = random.Random(16)
    records: list[tuple[float, int, bytes]] = []
    t = 0.0

    def exchange(wire: bytes, answer: bytes | None) -> None:
        nonlocal t
        records.append((t, TO_METER, wire))
        if answer is not None:
            records.append((t + 0.05, FROM_METER, answer))
        t += 0.5

    # the keys alternate, on one sequence counter (one per port on a meter) and
    # on one each; some of the requests encrypted
    shared = 0x7FFFFFF0  # crosses 2^31 and, below, wraps past 2^32
    own = {MAK: 0xFFFFFFF8, MBK: 5}
    for k in range(40):
        key = (MAK, MBK)[(k // 3 + k) % 2]
        if k < 20:
            seq = shared
            shared += 1
        else:
            seq = own[key]
            own[key] = (own[key] + 1) & 0xFFFFFFFF
        client = b.Requester(key, seq, encrypt=rng.random() < 0.4)
        table, off, cnt = rng.choice([(23, 0, 44), (52, 0, 7), (0, 0, 26), (2118, 142, 1)])
        body = b.partial_read(table, off, cnt) if off or k % 2 else b.full_read(table, cnt)
        wire, seal = client.seal(body)
        exchange(wire, b.respond(b.read_ok(bytes(rng.getrandbits(8) for _ in range(cnt))), seal))
    # ciphertext whose first byte is a request code: tried as sent first, in vain
    codes = {0x30, 0x3F, 0x40, 0x4F}
    for key, seq in ((MAK, 0x100), (MBK, 0x200), (MBK, 0x300)):
        wire = encrypted_starting_with(key, b.partial_read(28, 0, 60), codes, seq)
        exchange(wire, None)
    # sent plain, first byte no request code (an unknown code, a response code)
    for key, first in ((MAK, 0x41), (MBK, 0x41), (MBK, 0x00), (MAK, 0xEE)):
        wire, _ = sealed_raw(key, bytes([first]) + bytes(range(1, 12)))
        exchange(wire, None)
    # damaged: a flipped bit in the protected bytes or in the digest opens nothing
    for key, encrypt in ((MAK, False), (MBK, False), (MAK, True), (MBK, True)):
        wire, seal = b.Requester(key, 0x4000, encrypt=encrypt).seal(b.partial_read(23, 0, 44))
        exchange(flip(wire, 4), None)
        exchange(flip(wire, len(wire) - 3), None)
        exchange(wire, b.respond(b.read_ok(bytes(44)), seal))
    # digests ending around a round's boundary: the request's protected bytes
    # (code 1, table 2, offset 3, count 2, data, sequence 4) and the response's,
    # which go on from the request's
    for n, key in ((ROUND - 1, MAK), (ROUND, MBK), (ROUND + 1, MAK), (2 * ROUND, MBK),
                   (2 * ROUND + 7, MAK)):
        for encrypt in (False, True):
            data = bytes(rng.getrandbits(8) for _ in range(n - 12))
            wire, seal = b.Requester(key, 0x900 + n, encrypt=encrypt).seal(
                b.partial_write(2098, 0, data))
            exchange(wire, b.respond(b.write_ok(), seal))
    for key in (MAK, MBK):
        for cnt in (ROUND - 16 - 4, ROUND - 16 - 3, ROUND - 16 - 2, ROUND - 16 + 1, 2 * ROUND):
            for encrypt in (False, True):
                wire, seal = b.Requester(key, 0xA00 + cnt, encrypt=encrypt).seal(
                    b.partial_read(2061, 0, cnt))
                answer = b.read_ok(bytes(rng.getrandbits(8) for _ in range(cnt)))
                exchange(wire, b.respond(answer, seal))
    # too short to hold a sequence number: the keys in the meter's order
    for key in (MAK, MBK):
        for n in range(1, 6):
            wire, _ = sealed_raw(key, bytes([0x30]) + bytes(range(1, n)), encrypt=n % 2 == 0)
            exchange(wire, None)
    return records


@pytest.fixture(scope="module")
def key_capture(tmp_path_factory) -> Path:
    return write_records(tmp_path_factory.mktemp("keys") / "keys.pcapng", key_records())


@pytest.mark.parametrize("keys", [[MAK, MBK], [MBK], [MAK]], ids=["MAK+MBK", "MBK", "MAK"])
def test_every_attempt_order_path_agrees_in_wireshark(key_capture, keys):
    assert differences(key_capture, keys) == []


def test_each_frame_opens_with_the_key_that_sealed_it(key_capture):
    """Not only the same as Python: what the capture was made with (a check on
    both sides at once)."""
    lua, stderr = lua_decode(key_capture, [MAK, MBK])
    assert "Lua" not in stderr
    records = key_records()
    keys = [f[0].get("mep.key") for _, f in sorted(lua.items())]
    statuses = [f[0].get("mep.digest.status") for _, f in sorted(lua.items())]
    assert len(keys) == len(records)
    # the 40 alternating exchanges: requests and responses both verified
    assert statuses[:80] == [[1]] * 80
    assert [k[0] for k in keys[:80:2]] == [("MAK", "MBK")[(k // 3 + k) % 2] for k in range(40)]
    # the three ciphertexts starting with a request code: opened decrypted
    assert [k[0] for k in keys[80:83]] == ["MAK", "MBK", "MBK"]
    assert all(lua[n][0]["mep.encrypted"] == [True] for n in (81, 82, 83))
    # sent plain with no request code: opened as sent
    assert [k[0] for k in keys[83:87]] == ["MAK", "MBK", "MBK", "MAK"]
    assert all("mep.encrypted" not in lua[n][0] for n in range(84, 88))
    # damaged copies: bad digest; the undamaged one and its answer: good
    for n in range(88, 88 + 4 * 4, 4):
        assert statuses[n - 1:n + 3] == [[0], [0], [1], [1]], n
    # around the round's boundary: every request and response verified
    assert statuses[103:] == [[1]] * (len(records) - 103)
    assert [k[0] for k in keys[-10:]] == ["MAK"] * 5 + ["MBK"] * 5


@pytest.mark.parametrize("lua", ["lua5.4", "lua5.2"])
def test_plain_lua_interpreters_agree_on_the_key_paths(tmp_path, key_capture, lua):
    py = scapy_decode(key_capture, [MAK, MBK], follow_tls=False)
    assert compare(py, shim_decode(key_capture, [MAK, MBK], tmp_path, lua)) == []
