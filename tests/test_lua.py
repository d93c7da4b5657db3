"""The generated Lua dissector, run by real tshark, agrees with the scapy decode."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mepshark.dissector import builders as b
from mepshark.dissector.context import FROM_METER, TO_METER
from mepshark.dissector.luagen import generate
from mepshark.dissector.security import parse_key

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))

from luadiff import LUA, differences, lua_decode, run_tshark, write_records  # noqa: E402
from test_frames import frames  # noqa: E402
from traffic import MAK, MBK, write_session  # noqa: E402

EXAMPLES = Path(__file__).parent.parent / "pcaps" / "spec-examples.pcapng"


def test_committed_lua_is_generated_from_the_definitions():
    """mep.lua is committed; regenerate it (mep-dissector generate) when this fails."""
    assert LUA.read_text() == generate()


@pytest.mark.parametrize("keys", [[], [MAK]], ids=["no key", "MAK"])
def test_spec_examples_agree(keys):
    assert differences(EXAMPLES, keys) == []


def test_guide_examples_verify_in_wireshark():
    """With the key of sixteen 0x01 bytes every RC4 example shows mep.digest.status == 1."""
    lua, stderr = lua_decode(EXAMPLES, [MAK])
    for n in range(7, 13):
        assert lua[n][0]["mep.digest.status"] == [1], n
        assert lua[n][0]["mep.key"] == ["MAK"], n
    assert lua[13][0]["mep.digest.status"] == [0]  # Appendix A/B: key not in the guide


@pytest.mark.parametrize("keys", [[], [MAK, MBK], [MBK]], ids=["no key", "MAK+MBK", "MBK"])
def test_realistic_session_agrees(tmp_path, keys):
    """Reads, writes, alerts, 0x0C resyncs, retries, encrypted exchanges, both keys."""
    pcap = tmp_path / "session.pcapng"
    write_session(str(pcap), 500, seed=11)
    assert differences(pcap, keys) == []


def _mutate(rng: random.Random, wire: bytes) -> bytes:
    kind = rng.randrange(6)
    if kind == 0 and len(wire) > 1:
        return wire[: rng.randrange(1, len(wire))]  # truncated
    if kind == 1:
        i = rng.randrange(len(wire))
        return wire[:i] + bytes([wire[i] ^ (1 << rng.randrange(8))]) + wire[i + 1 :]
    if kind == 2:
        return wire + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5)))
    if kind == 3:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    return wire


@st.composite
def corpora(draw):
    """A capture of random frames of every class, sealed or not, some mutated."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    client = b.Requester(MAK, draw(st.integers(0, 2**32 - 1)))
    records, t = [], 0.0
    for _ in range(draw(st.integers(5, 30))):
        t += rng.uniform(0.01, 0.8)
        roll = rng.random()
        if roll < 0.4:  # a sealed exchange, perhaps encrypted
            client.encrypt = rng.random() < 0.5
            req = draw(st.sampled_from([b.partial_read(23, 0, 44), b.full_write(2098, b"\x01")]))
            wire, seal = client.seal(req)
            ans = b.read_ok(bytes(rng.randrange(256) for _ in range(44)))
            if req.request_code == 0x40:
                ans = b.write_ok()
            records.append((t, TO_METER, wire))
            records.append((t + 0.04, FROM_METER, b.respond(ans, seal)))
            continue
        pkt = draw(frames())
        wire = bytes(pkt)
        if roll > 0.7:
            wire = _mutate(rng, wire)
        if rng.random() < 0.1:
            wire += b.ALERT
        direction = rng.choice([TO_METER, FROM_METER, None])
        records.append((t, direction, wire))
    return records


@given(corpora(), st.booleans())
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_corpora_agree(tmp_path_factory, records, with_key):
    """Hypothesis corpora: every code, partial windows, encrypted and plain, malformed."""
    pcap = write_records(tmp_path_factory.mktemp("corpus") / "c.pcapng", records)
    assert differences(pcap, [MAK] if with_key else []) == []


def test_fuzzed_records_never_raise_lua_errors(tmp_path):
    """Random and mutated records: no Lua error, the malformed ones flagged as in scapy."""
    rng = random.Random(7)
    base = [bytes(b.partial_read(23, 0, 44)), bytes(b.read_ok(bytes(44))), b.ALERT]
    records = []
    for i in range(400):
        wire = _mutate(rng, rng.choice(base)) if i % 2 else bytes(
            rng.randrange(256) for _ in range(rng.randrange(1, 600))
        )
        records.append((i * 0.05, rng.choice([TO_METER, FROM_METER, None]), wire))
    pcap = write_records(tmp_path / "fuzz.pcapng", records)
    proc = run_tshark(pcap, [MAK], ["-V"])
    assert proc.returncode == 0
    assert "Lua Error" not in proc.stdout + proc.stderr
    assert "Malformed MEP frame" in proc.stdout
    assert differences(pcap, [MAK]) == []


def test_filters_find_both_halves_of_an_exchange():
    """mep.table_id is on requests and (generated) on their responses."""
    proc = run_tshark(EXAMPLES, [MAK], ["-Y", "mep.table_id == 0x17", "-T", "fields",
                                        "-e", "frame.number"])
    assert proc.stdout.split() == ["7", "8", "9", "10"]
    proc = run_tshark(EXAMPLES, [MAK], ["-Y", "mep.digest.status == 0", "-T", "fields",
                                        "-e", "frame.number"])
    assert proc.stdout.split() == ["13"]
    proc = run_tshark(EXAMPLES, [], ["-Y", "mep.retransmission", "-T", "fields",
                                     "-e", "mep.retransmission"])
    assert proc.stdout.split() == ["7"]


def test_user_dlt_preference(tmp_path):
    """A capture made with DLT 150 decodes once the preference says so."""
    from mepshark.capture.pcapng import EPB_OUTBOUND, PcapngWriter

    pcap = tmp_path / "dlt150.pcapng"
    with open(pcap, "wb") as f, PcapngWriter(f, dlt=150) as w:
        w.write(w.add_interface("client"), 1.0, bytes(b.partial_read(23, 0, 44)), EPB_OUTBOUND)
    plain = run_tshark(pcap, [], ["-T", "fields", "-e", "mep.table_id"])
    assert plain.stdout.strip() == ""
    chosen = run_tshark(pcap, [], ["-o", "mep.dlt:150", "-T", "fields", "-e", "mep.table_id"])
    assert chosen.stdout.strip() == "0x0017"


def test_key_given_as_ascii_in_preferences(tmp_path):
    key = parse_key("ABCDEFGHIJKLMNOP", "MBK")
    records = []
    client = b.Requester(key, 5, encrypt=True)
    wire, seal = client.seal(b.full_read(0x34, 7))
    records += [(1.0, TO_METER, wire), (1.05, FROM_METER, b.respond(b.read_ok(bytes(7)), seal))]
    pcap = write_records(tmp_path / "ascii.pcapng", records)
    proc = run_tshark(pcap, [], ["-o", "mep.mbk:ABCDEFGHIJKLMNOP", "-T", "fields",
                                 "-e", "mep.digest.status", "-e", "mep.encrypted", "-e", "mep.key"])
    assert [line.split("\t") for line in proc.stdout.splitlines()] == [
        ["1", "1", "MBK"],
        ["1", "1", "MBK"],
    ]


# --- Lua 5.4 (Wireshark 4.4 and later) -------------------------------------------
# Debian 12's tshark embeds Lua 5.2.  The 5.4 side is checked by running the same
# generated file under Debian's lua5.4 interpreter, with tests/lua/shim.lua standing in
# for the few Wireshark API calls it makes, and comparing with scapy as above.

from luadiff import compare, scapy_decode, shim_decode  # noqa: E402


@pytest.mark.parametrize("lua", ["lua5.4", "lua5.2"])
@pytest.mark.parametrize("keys", [[], [MAK, MBK]], ids=["no key", "MAK+MBK"])
def test_plain_lua_interpreters_agree(tmp_path, lua, keys):
    pcap = tmp_path / "session.pcapng"
    write_session(str(pcap), 300, seed=5)
    for capture in (pcap, EXAMPLES):
        assert compare(scapy_decode(capture, keys), shim_decode(capture, keys, tmp_path, lua)) == []


def test_lua_source_uses_no_version_specific_syntax():
    """Parses as 5.2 and as 5.4; no bit32, no unpack/loadstring, no integer division."""
    import re
    import subprocess

    for luac in ("luac5.2", "luac5.4"):
        subprocess.run([luac, "-p", str(LUA)], check=True)
    code = "\n".join(
        line.split("--", 1)[0] for line in LUA.read_text().splitlines()
    )
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', code)  # string literals
    assert "bit32" not in code
    assert not re.search(r"(?<![.\w])(unpack|loadstring|setfenv)\s*\(", code)
    assert "//" not in code
    assert not re.search(r"[^=~<>]=?\s*(<<|>>)\s*", code)
    assert not re.search(r"\w\s*[&|]\s*\w", code)


def test_install_puts_the_plugin_where_tshark_finds_it(tmp_path):
    """mep-dissector install; then tshark decodes MEP with no -X option."""
    import os
    import subprocess

    env = dict(os.environ, HOME=str(tmp_path))
    exe = Path(sys.executable).with_name("mep-dissector")
    out = subprocess.run([exe, "install"], env=env, capture_output=True, text=True, check=True)
    target = tmp_path / ".local" / "lib" / "wireshark" / "plugins" / "mep.lua"
    assert str(target) in out.stdout and target.read_text() == LUA.read_text()
    proc = subprocess.run(["tshark", "-r", str(EXAMPLES)], env=env, capture_output=True,
                          text=True, check=True)
    assert "Request: Partial Table Read BT23 Current Register Data" in proc.stdout


def test_readme_pyshark_examples():
    """The README's pyshark snippets: load the plugin uninstalled, filter on MEP fields."""
    import pyshark

    params = ["-X", f"lua_script:{LUA}", "-o", "mep.mak:" + "01" * 16]
    cap = pyshark.FileCapture(str(EXAMPLES), display_filter="mep.table_id == 0x17",
                              custom_parameters=params)
    try:
        rows = [(int(p.number), p.mep.get_field_value("mep.table_name")) for p in cap]
    finally:
        cap.close()
    assert rows == [(n, "BT23 Current Register Data") for n in (7, 8, 9, 10)]
    cap = pyshark.FileCapture(str(EXAMPLES), display_filter="mep.digest.status == 0",
                              custom_parameters=params)
    try:
        assert [int(p.number) for p in cap] == [13]
    finally:
        cap.close()
