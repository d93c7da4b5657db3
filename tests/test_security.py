"""Digest (Appendix A), RC4 (Appendix B) and key handling."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mepshark.dissector.examples import EXAMPLES, GUIDE_KEY_HEX
from mepshark.dissector.security import (
    RC4,
    DigestState,
    Key,
    load_keys,
    parse_key,
    response_digest,
)

GUIDE_KEY = parse_key(GUIDE_KEY_HEX)


def _reference_digest(key: bytes, parts: list[bytes]) -> bytes:
    """Straightforward model of the Appendix A digest, one key bit per message byte.

    The accumulator slot for key bit j is 7 - j; the key is walked 1.5 times
    per round (once for a 6-byte key); a final call pads the round with zeros
    unless the message ended exactly on a round boundary (or was empty and the
    round had not started, in which case a whole zero round is digested).
    Each element of ``parts`` is one call; the last one is final.
    """
    acc = [0] * 8
    kl = len(key)
    period = 8 * (kl if kl == 6 else kl + kl // 2)
    pos = 0
    last = 0

    def step(m: int) -> None:
        nonlocal pos, last
        i, j = divmod(pos, 8)
        v = 7 - j
        n = (~(acc[v] + v)) & 0xFF
        if (key[i % kl] >> j) & 1:
            term = ((n << 1) | (n >> 7)) & 0xFF
        else:
            term = (-((n >> 1) | ((n << 7) & 0xFF))) & 0xFF
        acc[v] = (last + m + term) & 0xFF
        last = acc[v]
        pos = (pos + 1) % period

    for k, part in enumerate(parts):
        for m in part:
            step(m)
        if k == len(parts) - 1 and (pos or not part):
            step(0)
            while pos:
                step(0)
    return bytes(acc)


def _rc4_examples():
    """Request/response pairs of the guide's RC4 examples (key known)."""
    ex = [e for e in EXAMPLES if e.key_known and e.wire[2] in (0x3F, 0x4F)]
    pairs = []
    for req in ex:
        resp = EXAMPLES[EXAMPLES.index(req) + 1]
        pairs.append((req, resp))
    return pairs


@pytest.mark.parametrize("req,resp", _rc4_examples(), ids=lambda e: e.title)
def test_guide_digests_verify_with_default_key(req, resp):
    """Every request and response digest in the RC4 examples verifies with 16 x 0x01."""
    req_body, resp_body = req.wire[2:], resp.wire[2:]
    assert GUIDE_KEY.digest(req_body[:-8]) == req_body[-8:]
    assert response_digest(GUIDE_KEY, req_body[:-8], resp_body[:-8]) == resp_body[-8:]


@given(st.binary(min_size=16, max_size=16).filter(lambda k: k != b"\x01" * 16))
@settings(max_examples=200, deadline=None)
def test_guide_digests_fail_with_any_other_key(raw_key):
    """Any other key gives different request and response digests."""
    key = Key("MAK", raw_key)
    for req, resp in _rc4_examples():
        req_body, resp_body = req.wire[2:], resp.wire[2:]
        assert key.digest(req_body[:-8]) != req_body[-8:]
        assert response_digest(key, req_body[:-8], resp_body[:-8]) != resp_body[-8:]


@given(
    key=st.binary(min_size=16, max_size=16) | st.binary(min_size=6, max_size=6),
    data=st.binary(max_size=600),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=4),
)
@settings(max_examples=300, deadline=None)
def test_fast_digest_equals_reference_model(key, data, cuts):
    """The table-driven digest equals the bit-by-bit model for any split of the input."""
    bounds = sorted({c for c in cuts if c <= len(data)} | {0, len(data)})
    parts = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)] or [b""]
    state = DigestState.for_key(key)
    for p in parts[:-1]:
        state.update(p)
    assert state.update(parts[-1], final=True) == _reference_digest(key, parts)


@pytest.mark.parametrize("length", [191, 192, 193, 384, 0])
def test_round_boundaries(length):
    """Messages ending on and next to the 192-byte round boundary (16-byte key)."""
    data = bytes(range(256)) * 2
    data = data[:length]
    assert GUIDE_KEY.digest(data) == _reference_digest(GUIDE_KEY.raw, [data])


@pytest.mark.parametrize(
    "key,plain,cipher",
    [
        (b"Key", b"Plaintext", "bbf316e8d940af0ad3"),
        (b"Wiki", b"pedia", "1021bf0420"),
        (b"Secret", b"Attack at dawn", "45a01f645fc35b383552544b9bf5"),
    ],
)
def test_rc4_known_answers(key, plain, cipher):
    """RC4 against the classic published test vectors."""
    assert RC4(key).crypt(plain).hex() == cipher


@given(st.binary(min_size=1, max_size=64), st.binary(max_size=300), st.integers(0, 300))
def test_rc4_resumes_keystream(key, data, cut):
    """Encrypting in two calls equals one call: the state carries over (responses rely on it)."""
    one = RC4(key).crypt(data)
    c = RC4(key)
    two = c.crypt(data[:cut]) + c.crypt(data[cut:])
    assert one == two
    assert RC4(key).crypt(one) == data


@pytest.mark.parametrize(
    "text",
    [
        "01010101010101010101010101010101",
        "0x01010101010101010101010101010101",
        "01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01",
        "01 01 01 01 01 01 01 01 01 01 01 01 01 01 01 01",
        "hex:0101010101010101 0101010101010101",
        "0101010101010101010101010101010102020202",  # 20-byte meter key: first 16 used
    ],
)
def test_parse_hex_keys(text):
    assert parse_key(text).raw == b"\x01" * 16


def test_parse_ascii_keys():
    assert parse_key("ABCDEFGHIJKLMNOP").raw == b"ABCDEFGHIJKLMNOP"
    assert parse_key("ascii:0123456789abcdef0123456789abcdef").raw == b"0123456789abcdef"
    with pytest.raises(ValueError, match="16 bytes"):
        parse_key("short")
    with pytest.raises(ValueError):
        parse_key("hex:zz")


def test_key_never_shows_its_bytes():
    key = parse_key("ABCDEFGHIJKLMNOP", "MBK")
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert "ABCDEFGH" not in text and "4142" not in text.lower()
        assert "MBK" in text


def test_load_keys_order_and_sources(tmp_path):
    """Arguments beat the key file, the file beats the environment; MAK comes first."""
    f = tmp_path / "keys"
    f.write_text("# meter 1\nMBK = 02020202020202020202020202020202\nMAK=hex:" + "03" * 16 + "\n")
    env = {"MEP_MBK": "04" * 16, "MEP_MAK": "05" * 16}
    keys = load_keys(key_file=f, environ=env)
    assert [k.name for k in keys] == ["MAK", "MBK"]
    assert keys[0].raw == b"\x03" * 16 and keys[1].raw == b"\x02" * 16
    keys = load_keys(mak="06" * 16, key_file=f, environ=env)
    assert keys[0].raw == b"\x06" * 16
    assert [k.raw for k in load_keys(environ=env)] == [b"\x05" * 16, b"\x04" * 16]
    assert load_keys(environ={}) == []
    f.write_text("KEY=1\n")
    with pytest.raises(ValueError, match="MBK=… or MAK=…"):
        load_keys(key_file=f, environ={})
