"""Digest (Appendix A), RC4 (Appendix B) and key handling."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mepshark.dissector.examples import EXAMPLES, GUIDE_KEY_HEX
from mepshark.dissector.security import (
    KEY_FORMS,
    RC4,
    DigestState,
    Key,
    key_problem,
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
    assert parse_key("ABCDEFGHIJKLMNOPQRST").raw == b"ABCDEFGHIJKLMNOP"  # 20: first 16
    assert parse_key("0123456789abcdef").raw == b"0123456789abcdef"  # 16 characters
    assert parse_key("ascii:0123456789abcdef0123").raw == b"0123456789abcdef"
    assert parse_key("ascii:my meter key 0017").raw == b"my meter key 001"
    assert parse_key("hex:" + "01" * 18).raw == b"\x01" * 16


GUIDE_HEX = "01" * 16
BAD_KEYS = [
    # text, the problem named
    ("O" + GUIDE_HEX[1:], "'O' (position 1) is not a hex digit"),
    (GUIDE_HEX[:-1], "31 hex digits"),
    (GUIDE_HEX + "0", "33 hex digits"),
    (GUIDE_HEX[:20] + "l" + GUIDE_HEX[21:], "'l' (position 21) is not a hex digit"),
    ("01:01:01:01:01:01:01:01:01:01:01:01:01:01:01", "30 hex digits"),
    ("0x" + GUIDE_HEX[:-2] + "g1", "'g' (position 33) is not a hex digit"),
    ("…", "character 1 is not printable ASCII"),
    ("ABCDEFGHIJKLMNO\u00c9", "character 16 is not printable ASCII"),
    ("short", "5 characters"),
    ("ABCDEFGHIJKLMNOPQ", "17 characters"),
    ("ascii:0123456789abcdef0123456789abcdef", "32 characters"),
    ("ascii:short", "5 characters"),
    ("hex:zz", "'z' (position 5) is not a hex digit"),
    ("hex:0102", "4 hex digits"),
    ("hex:" + "01" * 16 + "1", "33 hex digits"),
    ("   ", "empty"),
]


@pytest.mark.parametrize(("text", "problem"), BAD_KEYS)
def test_a_text_that_is_not_exactly_a_key_is_an_error_naming_the_problem(text, problem):
    """Never a silently different (ASCII) key: the error says what is wrong."""
    assert key_problem(text) == (None, problem)
    with pytest.raises(ValueError) as err:
        parse_key(text, "MAK", source="MEP_MAK")
    assert str(err.value) == f"MEP_MAK: {problem}; {KEY_FORMS}"


@settings(max_examples=300)
@given(st.binary(min_size=16, max_size=20), st.data())
def test_a_hex_key_with_one_wrong_character_is_never_a_key(raw, data):
    """Each digit of a hex key mistyped as a letter that is not hex (O, l, g…), with
    or without separators: an error naming that letter, never some other key."""
    text = raw.hex()
    if data.draw(st.booleans()):
        text = ":".join(text[i:i + 2] for i in range(0, len(text), 2))
    digits = [i for i, c in enumerate(text) if c != ":"]
    i = data.draw(st.sampled_from(digits))
    letter = data.draw(st.sampled_from("OoIlgGxXzZsS"))
    typo = text[:i] + letter + text[i + 1:]
    if typo[:2] in ("0x", "0X"):  # the typo made a hex prefix: one digit short, said so
        digits_left = sum(c != ":" for c in typo[2:])
        assert key_problem(typo) == (None, f"{digits_left} hex digits")
        return
    assert key_problem(typo) == (None, f"'{letter}' (position {i + 1}) is not a hex digit")


@settings(max_examples=300)
@given(st.binary(min_size=15, max_size=21), st.integers(-1, 1))
def test_hex_digit_counts(raw, extra):
    """Exactly 32 or 40 hex digits are a key; every other count is an error."""
    text = (raw.hex() + "0")[: 2 * len(raw) + extra]
    n = len(text)
    raw_back, problem = key_problem(text)
    if n in (32, 40):
        assert raw_back == bytes.fromhex(text)
    elif n in (16, 20):  # 16 or 20 characters: an ASCII key
        assert raw_back == text.encode()
    else:
        assert (raw_back, problem) == (None, f"{n} hex digits")


@given(st.text(max_size=50))
def test_any_text_is_a_key_or_one_problem(text):
    """Whatever is typed: 16 to 20 key bytes, or a problem that does not show the key."""
    raw, problem = key_problem(text)
    if raw is None:
        assert problem
        if len(text.strip()) >= 4:
            assert text.strip() not in problem
    else:
        assert 16 <= len(raw) <= 20 and problem is None


def test_load_keys_names_the_source_of_a_bad_key(tmp_path):
    typo = "O" + GUIDE_HEX[1:]
    with pytest.raises(ValueError, match=r"^MEP_MAK: 'O' \(position 1\)"):
        load_keys(environ={"MEP_MAK": typo})
    with pytest.raises(ValueError, match=r"^--mbk: 31 hex digits"):
        load_keys(mbk=GUIDE_HEX[:-1], environ={})
    f = tmp_path / "keys.txt"
    f.write_text(f"MAK={GUIDE_HEX}\n# a comment\nMBK = {typo}\n")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(f))}:3: MBK: 'O' \(position 1\)"):
        load_keys(key_file=f, environ={})


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


# --- the Lua dissector's key preferences read the same texts the same way ------------


def _key_texts() -> list[str]:
    """Valid keys in every form, the bad ones above, and random near-keys."""
    import random

    rng = random.Random(13)
    texts = [
        GUIDE_HEX, "0x" + GUIDE_HEX, "01:" * 15 + "01", "hex:" + "ab" * 18, "HEX:" + "Ab" * 20,
        "ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOPQRST", "ascii:ABCDEFGHIJKLMNOPQ", "ASCII:" + "x" * 20,
        "  " + GUIDE_HEX + "\t", "0123456789abcdef", "0123456789abcdef0123",
        *(text for text, _ in BAD_KEYS if text.strip()),
    ]
    alphabet = "0123456789abcdefABCDEFOolgx: -_.GZ\u00e9\u2026"
    for _ in range(300):
        kind = rng.randrange(3)
        if kind == 0:  # random text near the valid lengths
            n = rng.choice([15, 16, 17, 20, 24, 31, 32, 33, 40, 41, 47]) + rng.randrange(-1, 2)
            text = "".join(rng.choice(alphabet) for _ in range(n))
        else:  # a valid hex key with one or two characters changed, maybe prefixed
            text = list(rng.randbytes(rng.choice([16, 20])).hex())
            for _ in range(kind):
                text[rng.randrange(len(text))] = rng.choice(alphabet)
            text = rng.choice(["", "hex:", "0x", "ascii:"]) + "".join(text)
        if text.strip():
            texts.append(text)
    return texts


@pytest.mark.parametrize("lua", ["lua5.2", "lua5.4"])
def test_lua_key_preferences_read_keys_as_python_does(tmp_path, lua):
    """Every text: the same key (a request sealed with Python's key verifies under the
    Lua's, as MAK) or the same problem, warned about on stderr as the preference's."""
    import subprocess

    from luadiff import LUA, SHIM

    from mepshark.dissector import builders as b

    texts = _key_texts()
    lines, expect = [], []
    for i, text in enumerate(texts):
        raw, problem = key_problem(text)
        if raw is None:
            lines.append(text.encode().hex())
            warning = f"MEP: preference mep.mak ignored: {problem}; {KEY_FORMS}"
            expect.append([f"W\t{warning}"])
        else:
            wire, _ = b.Requester(Key("MAK", raw), 1000 + i).seal(b.full_read(0x34, 7))
            lines.append(f"{text.encode().hex()} {wire.hex()}")
            expect.append(["S\t1\tMAK"])
    cases = tmp_path / "cases.txt"
    cases.write_text("\n".join(lines) + "\n")
    runner = SHIM.with_name("keys.lua")
    proc = subprocess.run([lua, str(runner), str(SHIM), str(LUA), str(cases)],
                          capture_output=True, text=True, timeout=300, check=True)
    got = [block.strip("\n").split("\n") if block.strip() else []
           for block in proc.stdout.split("END\n")[:-1]]
    assert len(got) == len(texts)
    wrong = [(t, e, g) for t, e, g in zip(texts, expect, got, strict=True) if e != g]
    assert wrong == []
