"""The generated Lua dissector, run by real tshark, agrees with the scapy decode."""

from __future__ import annotations

import datetime as dt
import functools
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from luadiff import (
    LUA,
    compare,
    differences,
    drops_privileges,
    filtered_frames,
    lua_decode,
    pyshark_tshark,
    readable,
    readable_home,
    run_tshark,
    scapy_decode,
    shim_decode,
    shim_output,
    tshark,
    tshark_command,
    tshark_env,
    write_records,
)
from test_frames import frames
from traffic import MAK, MBK, write_session

from mepshark.dissector import builders as b
from mepshark.dissector.catalog import (
    CATALOG,
    DimensionContext,
    decode,
    encode,
    layout,
    table_size,
)
from mepshark.dissector.catalog import types as ct
from mepshark.dissector.catalog.procedures import (
    PROCEDURES,
    request_spec,
    response_spec,
)
from mepshark.dissector.catalog.registry import DIMENSION_SOURCES
from mepshark.dissector.context import FROM_METER, TO_METER
from mepshark.dissector.luagen import generate
from mepshark.dissector.security import KEY_FORMS, parse_key

EXAMPLES = Path(__file__).parent.parent / "pcaps" / "spec-examples.pcapng"


@pytest.fixture(scope="module")
def decoded():
    """:func:`scapy_decode`, done once per capture and key set in this module
    (the decodes are shared: do not change them)."""
    cache: dict = {}

    def get(pcap: Path, keys, follow_tls: bool = True) -> dict:
        key = (Path(pcap), tuple((k.name, k.raw) for k in keys), follow_tls)
        if key not in cache:
            cache[key] = scapy_decode(pcap, keys, follow_tls)
        return cache[key]

    return get


def test_committed_lua_is_generated_from_the_definitions():
    """mep.lua is committed; regenerate it (mep-dissector generate) when this fails."""
    assert LUA.read_text() == generate()


def test_spec_examples_agree_with_the_mak_alone(decoded):
    """(Without a key and with both: test_every_sample_capture_agrees.)"""
    assert differences(EXAMPLES, [MAK], py=decoded(EXAMPLES, [MAK])) == []


def test_guide_examples_verify_in_wireshark():
    """With the key of sixteen 0x01 bytes every RC4 example shows mep.digest.status == 1."""
    lua, stderr = lua_decode(EXAMPLES, [MAK])
    for n in [*range(7, 13), *range(15, 23)]:  # chapters 2 and 4 (transaction, EP17 call)
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


@pytest.mark.parametrize("tail", [b"\xee", b"\xee\x00", b"\xee\x00\x00", b"\x06", b"\x15\x01"],
                         ids=lambda t: t.hex())
@pytest.mark.parametrize("direction", [TO_METER, FROM_METER, None],
                         ids=["to meter", "from meter", "no direction"])
def test_a_c1218_start_byte_after_a_mep_frame_is_a_cut_mep_frame(tmp_path, tail, direction):
    """Only a record's first byte can make it C12.18 (docs/c1218.md): bytes after a
    MEP frame in the same record are MEP frames, even from 0xEE, ACK or NAK on,
    and one cut short is flagged malformed, by scapy as by the Lua."""
    wire = bytes(b.partial_read(23, 0, 44))
    pcap = write_records(tmp_path / "tail.pcapng", [(1.0, direction, wire + tail)])
    py = scapy_decode(pcap)
    fields, info, malformed, _experts = py[1]
    assert not any(a.startswith("c1218.") for a in fields), fields
    assert fields["mep.length"][0] == len(wire) - 2 and " | " in info
    assert malformed
    assert differences(pcap, [], py=py) == []


def _tls_records(*records: tuple[int, bytes]) -> bytes:
    return b"".join(bytes([ct, 3, 3, len(c) >> 8, len(c) & 0xFF]) + c for ct, c in records)


@pytest.mark.parametrize("direction", [TO_METER, None], ids=["to meter", "no direction"])
def test_an_empty_handshake_record_inside_a_cut_message_is_kept_from_tls(tmp_path, direction):
    """A handshake message cut across records with an empty Handshake record between
    (TLS forbids those) trips an assertion in Wireshark's TLS dissector that no Lua
    pcall catches; the frame is decoded all the same, as scapy decodes it."""
    body = b"\x58" + _tls_records((22, b"\x01\x00"), (22, b""), (22, b"\x00\x00"))
    wire = len(body).to_bytes(2, "big") + body
    pcap = write_records(tmp_path / "tls.pcapng", [(1.0, direction, wire)])
    proc = run_tshark(pcap, [], ["-V"])
    assert "Dissector bug" not in proc.stdout and "Lua Error" not in proc.stdout
    assert "Request: TLS Handshake [Handshake, Handshake, Handshake]" in proc.stdout
    assert differences(pcap, []) == []


def test_optical_activity_before_a_request_does_not_excuse_its_silence(tmp_path):
    """The meter's UART was shared with an optical session before a MEP request was
    sent, not while it waited: its missing answer is no "optical_busy" (the first
    pass's fast path decides it as ctx_request does)."""
    from mepshark.dissector import c1218builders as cb
    from mepshark.dissector import c1218link

    read = bytes(b.partial_read(23, 0, 44))
    answer = bytes(b.read_ok(bytes(44)))
    records = [(1.0, TO_METER, read), (1.05, FROM_METER, answer),
               (1.5, TO_METER, c1218link.build(cb.identify())),
               (3.0, TO_METER, read), (5.0, TO_METER, read), (5.05, FROM_METER, answer)]
    pcap = write_records(tmp_path / "shared.pcapng", records)
    assert differences(pcap, []) == []
    proc = run_tshark(pcap, [], ["-2", "-V"])
    assert "No response to this request" in proc.stdout
    assert "optical (C12.18) session held" not in proc.stdout


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
    assert filtered_frames(EXAMPLES, [MAK], "mep.table_id == 0x17") == [7, 8, 9, 10]
    assert filtered_frames(EXAMPLES, [MAK], "mep.digest.status == 0") == [13]
    proc = run_tshark(EXAMPLES, [], ["-Y", "mep.retransmission", "-T", "fields",
                                     "-e", "mep.retransmission"])
    assert proc.stdout.split() == ["7"]


def test_transaction_records_are_fields():
    """The guide's ET52/ET53 transaction: each record's message is filterable."""
    proc = run_tshark(EXAMPLES, [MAK], [
        "-Y", "mep.et52.records.message.table_id == 0x080b || mep.et53.records.length == 34",
        "-T", "fields", "-e", "frame.number", "-e", "mep.et52.records.message.count",
        "-e", "mep.et53.closing_transaction_number"])
    assert proc.stdout.splitlines() == ["15\t10,10,10,1,12,31\t", "20\t\t1"]
    proc = run_tshark(EXAMPLES, [MAK], ["-Y", "mep.ep17.device_handle == 0x03f8", "-T", "fields",
                                        "-e", "frame.number", "-e", "mep.procedure.number"])
    assert proc.stdout.split() == ["21", "2065"]


_ACCESSOR_PROBE = """
local p = Proto("mepshark_accessors", "accessor probe")
@WS_ACCESSOR@
local function direct(obj, name)  -- nil where mep.lua would fall back to plain access
    local missing = function() end
    local f = ws_accessor(obj, name, missing)
    return f ~= missing and f or nil
end
function p.dissector(tvb, pinfo, tree)
    local out = {}
    local function check(obj, name, plain)
        local f = direct(obj, name)
        out[#out + 1] = name .. "=" .. (f == nil and "missing"
            or (f(obj) == plain and "same" or "differs"))
    end
    check(tvb, "raw", tvb:raw())
    check(pinfo, "number", pinfo.number)
    check(pinfo, "p2p_dir", pinfo.p2p_dir)
    check(pinfo, "rel_ts", pinfo.rel_ts)
    check(tree, "hidden", tree.hidden)
    local cols = direct(pinfo, "cols")
    local set = cols and rawget(getmetatable(cols(pinfo)), "__newindex")
    if type(set) == "function" then set(cols(pinfo), "info", "set directly") end
    out[#out + 1] = "cols=" .. (cols and "found" or "missing")
    io.stderr:write("accessors: " .. table.concat(out, " ") .. "\\n")
end
DissectorTable.get("wtap_encap"):add(wtap_encaps.USER1, p)
"""


def _ws_accessor_source() -> str:
    """The generated dissector's own ``ws_accessor``, so that the probe checks
    the lookup mep.lua makes, not a copy of it."""
    found = re.search(r"^local function ws_accessor\(.*?^end$", LUA.read_text(), re.M | re.S)
    assert found, "mep.lua has no ws_accessor"
    return found.group(0)


def test_wslua_offers_the_accessors_the_dissector_calls_directly(tmp_path):
    """mep.lua calls Wireshark's accessors (pinfo.number and the like) as plain
    functions taken from wslua's metatables, not through the per-access name
    lookup; where they are missing it falls back to plain access, which is slower.
    This tshark must offer each, give the same value as plain access, and set the
    Info column through Columns' __newindex."""
    from mepshark.capture.pcapng import PcapngWriter
    from mepshark.dissector.capture_format import EPB_OUTBOUND

    probe = tmp_path / "accessors.lua"
    probe.write_text(_ACCESSOR_PROBE.replace("@WS_ACCESSOR@", _ws_accessor_source()))
    pcap = tmp_path / "probe.pcapng"
    with open(pcap, "wb") as f, PcapngWriter(f, dlt=148) as w:
        w.write(w.add_interface("client"), 1.5, b"\x01\x02", EPB_OUTBOUND)
    proc = subprocess.run(
        tshark_command("-n", "-X", f"lua_script:{readable(probe)}", "-r", readable(pcap)),
        capture_output=True, text=True, env=tshark_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stderr.splitlines() if x.startswith("accessors: "))
    assert line.split()[1:] == ["raw=same", "number=same", "p2p_dir=same", "rel_ts=same",
                                "hidden=same", "cols=found"]
    assert "set directly" in proc.stdout


def test_user_dlt_preference(tmp_path):
    """A capture made with DLT 150 decodes once the preference says so."""
    from mepshark.capture.pcapng import PcapngWriter
    from mepshark.dissector.capture_format import EPB_OUTBOUND

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
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    # a bool shows as 1 on tshark 4.0, as True on 4.4
    assert [[s, e.replace("True", "1"), k] for s, e, k in rows] == [
        ["1", "1", "MBK"],
        ["1", "1", "MBK"],
    ]


# --- Lua 5.4 (Wireshark 4.4 and later) -------------------------------------------
# Debian 12's tshark embeds Lua 5.2.  The 5.4 side is checked by running the same
# generated file under Debian's lua5.4 interpreter, with tests/lua/shim.lua standing in
# for the few Wireshark API calls it makes, and comparing with scapy as above.


@pytest.fixture(scope="module")
def session_300(tmp_path_factory) -> Path:
    """One session capture for both interpreters and both key sets."""
    pcap = tmp_path_factory.mktemp("session") / "session.pcapng"
    write_session(str(pcap), 300, seed=5)
    return pcap


@pytest.mark.parametrize("lua", ["lua5.4", "lua5.2"])
@pytest.mark.parametrize("keys", [[], [MAK, MBK]], ids=["no key", "MAK+MBK"])
def test_plain_lua_interpreters_agree(tmp_path, decoded, session_300, lua, keys):
    for capture in (session_300, EXAMPLES):  # (the shim has no TLS dissector)
        py = decoded(capture, keys, follow_tls=False)
        assert compare(py, shim_decode(capture, keys, tmp_path, lua)) == []


SAMPLES = sorted((Path(__file__).parent.parent / "pcaps").glob("*.pcapng"))


@pytest.mark.parametrize("lua", ["lua5.4", "lua5.2"])
@pytest.mark.parametrize("keys", [[], [MAK, MBK]], ids=["no key", "MAK+MBK"])
def test_first_pass_fast_path_decides_as_the_general_one(tmp_path, session_300, lua, keys):
    """The first pass's fast path (no state table per frame) gives every frame the
    Info and expert texts the general path gives, and stores the same context: the
    second pass, made from it, shows the same fields."""
    for capture in (session_300, *SAMPLES):
        fast = shim_output(capture, keys, tmp_path, lua, "1")
        general = shim_output(capture, keys, tmp_path, lua, "1g")
        assert fast.count("\nP\t") > 0
        assert fast == general, capture.name


@pytest.mark.parametrize("keys", [[], [MAK, MBK]], ids=["no key", "MAK+MBK"])
def test_frames_dissected_again_in_any_order_show_the_same(tmp_path, session_300, keys):
    """The GUI dissects frames again in the order the user clicks them: each frame's
    state is made from its own bytes and its stored context, whatever came before."""
    for capture in (session_300, *SAMPLES):
        forward = shim_output(capture, keys, tmp_path, "lua5.4")
        assert shim_output(capture, keys, tmp_path, "lua5.4", "r") == forward, capture.name


def test_lua_source_uses_no_version_specific_syntax():
    """Parses as 5.2 and as 5.4; no bit32, no unpack/loadstring, no integer division."""
    import re

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


MEP_DISSECTOR = [str(Path(sys.executable).with_name("mep-dissector"))]


def _run(cmd: list[str], home: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(tshark_env(), HOME=str(home))
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                          check=check)


def test_install_puts_the_plugin_where_tshark_finds_it():
    """mep-dissector install; then tshark decodes MEP with no -X option, and
    mep-dissector check says where it loads from."""
    home = readable_home()
    folder = home / ".local" / "lib" / "wireshark" / "plugins"
    target = folder / "mep.lua"
    # As root on Wireshark 4.4+ the default is the global folder (see the next
    # tests): the personal one is named here, for the user tshark runs as.
    where = ["--dir", str(folder)] if drops_privileges() else []
    out = _run([*MEP_DISSECTOR, "install", *where], home)
    assert str(target) in out.stdout and target.read_text() == LUA.read_text()
    proc = _run(tshark_command("-r", readable(EXAMPLES)), home)
    assert "Request: Partial Table Read BT23 Current Register Data" in proc.stdout
    assert "MEP:" not in proc.stderr  # no duplicate, no key warning
    check = _run([*MEP_DISSECTOR, "check"], home, check=False)
    version = _run([tshark(), "-v"], home).stdout.split()
    wireshark = version[version.index("(Wireshark)") + 1].rstrip(".")
    lua = version[version.index("Lua") + 1].rstrip(",")
    assert check.stdout.splitlines()[0] == f"tshark: {tshark()} (Wireshark {wireshark}, Lua {lua})"
    if drops_privileges():  # this (root) user's tshark does not read the personal folder
        assert check.returncode == 1, check.stdout
        assert "NOT loaded for this user" in check.stdout
        assert f"unused copy: {target}" in check.stdout
    else:
        assert check.returncode == 0, check.stdout
        assert f"MEP dissector: loaded from {target} (the same as" in check.stdout


def test_install_goes_where_this_users_wireshark_reads():
    """Root on Wireshark 4.4+ gets the global plugin folder (and is told why); everyone
    else the personal one.  --dry-run writes nothing."""
    from mepshark.dissector import wireshark as ws

    home = readable_home()
    env = dict(tshark_env(), HOME=str(home))
    info = ws.find_tshark(env=env)
    out = _run([*MEP_DISSECTOR, "install", "--dry-run"], home)
    if ws.runs_user_lua(info, env=env):
        assert out.stdout.splitlines() == [f"would install {info.personal_lua}/mep.lua"]
        assert str(info.personal_lua).startswith(str(home))
    else:
        assert out.stdout.splitlines() == [
            f"Wireshark {info.version_text} runs no personal Lua plugins as root: "
            "installing into its global plugin folder",
            f"would install {info.global_lua}/mep.lua",
        ]
    assert not list(home.rglob("*.lua"))
    assert ws.expected_user_lua(info) == ws.runs_user_lua(info)  # the 4.4 rule holds


def test_install_that_cannot_write_says_why_in_one_line(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    res = _run([*MEP_DISSECTOR, "install", "--dir", str(blocker / "plugins")], tmp_path,
               check=False)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.splitlines() == [
        f"mep-dissector: cannot install into {blocker / 'plugins'}: Not a directory"]


@pytest.mark.skipif(not os.environ.get("MEPSHARK_THROWAWAY_SYSTEM"),
                    reason="installs into the global plugin folder: throw-away systems only "
                    "(make test-trixie)")
def test_root_install_on_a_throwaway_system():
    """Root on Wireshark 4.4+: install goes to the global folder, where root's tshark
    loads it with no -X; check reports it; a personal copy there is unused."""
    from mepshark.dissector import wireshark as ws

    info = ws.find_tshark()
    if ws.runs_user_lua(info):
        pytest.skip("this user's tshark runs personal Lua plugins: nothing special to check")
    home = readable_home()
    target = info.global_lua / "mep.lua"
    assert not target.exists()
    try:
        out = _run([*MEP_DISSECTOR, "install"], home)
        assert f"installed {target}" in out.stdout
        proc = _run([tshark(), "-r", str(EXAMPLES)], home)
        assert "Request: Partial Table Read BT23 Current Register Data" in proc.stdout
        check = _run([*MEP_DISSECTOR, "check"], home, check=False)
        assert check.returncode == 0, check.stdout
        assert f"MEP dissector: loaded from {target} (the same as" in check.stdout
        assert "runs NO personal Lua plugin" in check.stdout
    finally:
        target.unlink(missing_ok=True)


def test_a_second_copy_steps_aside_with_one_line():
    """Installed and given with -X lua_script: the second load says so on one line and
    the capture decodes, instead of "two protocols with the same description"."""
    home = readable_home()
    folder = home / ".local" / "lib" / "wireshark" / "plugins"
    _run([*MEP_DISSECTOR, "install", "--dir", str(folder)], home)
    proc = _run(tshark_command("-X", f"lua_script:{readable(LUA)}", "-r", readable(EXAMPLES)),
                home)
    assert "two protocols" not in proc.stderr and "Lua: Error" not in proc.stderr
    notes = [line for line in proc.stderr.splitlines() if "MEP" in line]
    assert notes == [f"MEP: {readable(LUA)} not loaded: the MEP dissector is already loaded "
                     f"from {folder / 'mep.lua'}"]
    assert "Request: Partial Table Read BT23 Current Register Data" in proc.stdout


def test_a_copy_older_than_the_guard_is_stepped_around_too():
    """An installed copy from before the guard: the new one finds its protocol and steps
    aside; check calls the old copy out."""
    from mepshark.dissector.luagen import LOADED_MARK

    home = readable_home()
    folder = home / ".local" / "lib" / "wireshark" / "plugins"
    folder.mkdir(parents=True)
    old = "\n".join(line for line in LUA.read_text().splitlines() if LOADED_MARK not in line)
    (folder / "old-mep.lua").write_text(old)
    proc = _run(tshark_command("-X", f"lua_script:{readable(LUA)}", "-r", readable(EXAMPLES)),
                home)
    assert "two protocols" not in proc.stderr
    assert (f"MEP: {readable(LUA)} not loaded: the MEP dissector is already loaded from "
            "another plugin") in proc.stderr
    assert "Request: Partial Table Read BT23 Current Register Data" in proc.stdout
    _run([*MEP_DISSECTOR, "install", "--dir", str(folder)], home)
    check = _run([*MEP_DISSECTOR, "check"], home, check=False)
    if not drops_privileges():
        assert check.returncode == 1
        assert f"duplicate: {folder / 'old-mep.lua'}: an old copy" in check.stdout


def test_a_malformed_key_preference_is_reported_not_silently_unverified():
    """-o mep.mak with the letter O for a zero: one line on stderr, an expert info on the
    first frame, and the digests stay unverified (no other key is made up)."""
    typo = "O" + "1" * 31
    proc = run_tshark(EXAMPLES, [], ["-o", f"mep.mak:{typo}", "-T", "fields",
                                     "-e", "frame.number", "-e", "mep.digest.status",
                                     "-e", "_ws.expert.message", "-E", "occurrence=a"])
    warning = ("preference mep.mak ignored: 'O' (position 1) is not a hex digit; "
               f"{KEY_FORMS}")
    assert [line for line in proc.stderr.splitlines() if "MEP" in line] == [f"MEP: {warning}"]
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert [r[0] for r in rows if warning in r[2]] == ["1"]
    assert {r[1] for r in rows if r[1]} == {"2"}  # unverified


def test_readme_pyshark_examples():
    """pyshark as the docs use it: load the plugin uninstalled, filter on MEP fields."""
    import pyshark

    params = ["-X", f"lua_script:{readable(LUA)}", "-o", "mep.mak:" + "01" * 16]
    examples = str(readable(EXAMPLES))
    cap = pyshark.FileCapture(examples, display_filter="mep.table_id == 0x17",
                              custom_parameters=params, tshark_path=pyshark_tshark())
    try:
        rows = [(int(p.number), p.mep.get_field_value("mep.table_name")) for p in cap]
    finally:
        cap.close()
    assert rows == [(n, "BT23 Current Register Data") for n in (7, 8, 9, 10)]
    cap = pyshark.FileCapture(examples, display_filter="mep.digest.status == 0",
                              custom_parameters=params, tshark_path=pyshark_tshark())
    try:
        assert [int(p.number) for p in cap] == [13]
    finally:
        cap.close()


# --- table contents: every catalog layout, as the scapy side decodes it ----------------

MAX_DATA = 400
"""Largest table window put in one frame (bodies are at most 476 bytes)."""


def _all_dims() -> dict[str, ct.Dim]:
    found: dict[str, ct.Dim] = {}

    def visit(obj):
        if isinstance(obj, ct.Dim):
            found[obj.key] = obj
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item)
        elif hasattr(obj, "__dataclass_fields__"):
            for name in obj.__dataclass_fields__:
                visit(getattr(obj, name))

    visit([*CATALOG.values(), *PROCEDURES.values()])
    return found


DIMS = _all_dims()


def _random_value(rng: random.Random, slot):
    f, n = slot.field, slot.size
    if isinstance(f, ct.UInt):
        return rng.choice([0, 1, rng.randrange(256**n), 256**n - 1, *(f.enum or {})])
    if isinstance(f, ct.Int):
        return rng.randrange(-(256**n) // 2, 256**n // 2)
    if isinstance(f, ct.Bool):
        return rng.random() < 0.5
    if isinstance(f, ct.Bits):
        return rng.randrange(1 << (f.hi - f.lo + 1))
    if isinstance(f, ct.Set):
        return rng.randrange(256**n) if n else 0
    if isinstance(f, ct.Chars):
        alphabet = "ABCxyz 09-_\\\"'\x01\x7f\xe9\t"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(n + 1)))
    if isinstance(f, ct.Bcd):
        return "".join(rng.choice("0123456789") for _ in range(2 * n))
    if isinstance(f, (ct.Bytes, ct.Time, ct.STimeDate, ct.LTimeDate)):
        if not isinstance(f, ct.Bytes) and rng.random() < 0.7:
            t = dt.datetime(2000 + rng.randrange(100), rng.randint(1, 12), rng.randint(1, 28),
                            rng.randrange(24), rng.randrange(60), rng.randrange(60))
            return t.time() if isinstance(f, ct.Time) else t
        return bytes(rng.randrange(256) for _ in range(n))
    if isinstance(f, ct.RDate):
        return rng.randrange(65536)
    if isinstance(f, ct.AnsiDate):
        if rng.random() < 0.2:
            return None
        return dt.date(2000 + rng.randrange(128), rng.randint(1, 12), rng.randint(1, 28))
    raise TypeError(f)


def _image(rng: random.Random, spec, dims: DimensionContext, small_dims: bool = False) -> bytes:
    """A random image of ``spec``; dimension fields get small values when asked."""
    values = {}
    for _ in range(2):  # twice: values of Ref fields change the layout
        for slot in layout(spec, dims.view()):
            key = f"{spec.tag}.{slot.path}"
            if small_dims and key in DIMS:
                default = DIMS[key].default
                top = max(1, min(2 * default, 24 if "nbr" in key else 90))
                pick = default if default <= top and rng.random() < 0.4 else rng.randint(1, top)
                values.setdefault(slot.path, pick)
            elif slot.path.startswith("dim_"):
                values.setdefault(slot.path, rng.randint(0, 14))
            else:
                values.setdefault(slot.path, _random_value(rng, slot))
    return encode(spec, values, dims.view())


def transaction_image(rng: random.Random, responses: bool, size: int) -> bytes:
    """An ET52/ET53 image built by hand: header, records, closing number, unused
    room; some records are malformed (bad codes, lengths running past B-2)."""
    records = b""
    for _ in range(rng.randrange(6)):
        if responses:
            code = rng.choice([0, 0, 0, 3, 0x0B, rng.randrange(256)])
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
            msg = bytes([code]) + (len(data).to_bytes(2, "big") + data if code == 0 else b"")
        else:
            code = rng.choice([0x30, 0x3F, 0x40, 0x4F, rng.randrange(256)])
            tid = rng.choice([23, 28, 2059, rng.randrange(65536)]).to_bytes(2, "big")
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(30)))
            count = len(data).to_bytes(2, "big")
            msg = bytes([code]) + tid + {
                0x30: b"", 0x3F: rng.randrange(1 << 24).to_bytes(3, "big") + count,
                0x40: count + data, 0x4F: bytes(3) + count + data}.get(code, data)
        length = len(msg) if rng.random() < 0.9 else rng.randrange(65536)
        records += length.to_bytes(2, "little") + msg
    number = rng.randrange(65536).to_bytes(2, "little")
    kind = rng.choice([1, 2, 4] if responses else [0, 3])
    groups = b""
    if kind == 3:
        n = rng.randrange(4)
        groups = bytes([n]) + b"".join(rng.randrange(65536).to_bytes(2, "little")
                                       for _ in range(n))
    body = bytes([kind]) + number + groups + records + number
    image = (len(body) + 2).to_bytes(2, "little") + body
    return (image + bytes(size))[:size]


class _Corpus:
    """Sealed exchanges; dims tracks what the capture has shown so far."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.client = b.Requester(MAK, rng.randrange(2**32))
        self.records: list = []
        self.t = 0.0
        self.dims = DimensionContext()

    def exchange(self, req, answer) -> None:
        self.client.encrypt = self.rng.random() < 0.3
        wire, seal = self.client.seal(req)
        self.t += 0.2
        self.records.append((self.t, TO_METER, wire))
        self.records.append((self.t + 0.05, FROM_METER, b.respond(answer, seal)))

    def read(self, tid: int, image: bytes) -> None:
        """A full read when it fits, and random partial windows."""
        if len(image) <= MAX_DATA:
            self.exchange(b.full_read(tid, len(image)), b.read_ok(image))
        else:  # the start of a big table, as clients read it first
            self.exchange(b.partial_read(tid, 0, MAX_DATA), b.read_ok(image[:MAX_DATA]))
        for _ in range(2):
            off = self.rng.randrange(max(1, len(image)))
            count = self.rng.randint(1, max(1, min(MAX_DATA, len(image) - off + 3)))
            data = image[off:off + count]
            if data:
                self.exchange(b.partial_read(tid, off, count), b.read_ok(data))

    def write(self, tid: int, image: bytes) -> None:
        if 0 < len(image) <= MAX_DATA:
            self.exchange(b.full_write(tid, image), b.write_ok())
        if len(image) > 1:
            off = self.rng.randrange(len(image) - 1)
            data = image[off:off + self.rng.randint(1, min(MAX_DATA, len(image) - off))]
            self.exchange(b.partial_write(tid, off, data), b.write_ok())

    def dimension_tables(self, small: bool = True) -> None:
        for tid, spec in sorted(CATALOG.items()):
            if spec.tag in DIMENSION_SOURCES:
                image = _image(self.rng, spec, self.dims, small_dims=small)
                self.dims.learn(decode(spec, image, 0, self.dims.view()), len(self.records))
                self.read(tid, image)


@functools.cache
def _catalog_corpus(seed: int) -> list:
    c = _Corpus(random.Random(seed))
    for _ in range(3):  # new BT00/BT21/ET11 contents change later layouts
        c.dimension_tables()
        for tid, spec in sorted(CATALOG.items()):
            if spec.tag in DIMENSION_SOURCES:
                continue
            if spec.tag in ("ET52", "ET53"):
                image = transaction_image(c.rng, spec.tag == "ET53", table_size(spec))
            else:
                image = _image(c.rng, spec, c.dims)
            c.read(tid, image)
            if c.rng.random() < 0.5:
                c.write(tid, image)
        for number in [*PROCEDURES, 5, 2048 + 99]:
            req = _image(c.rng, request_spec(number), c.dims)
            req = number.to_bytes(2, "little") + req[2:]
            c.write(7, req)
            for tag, tid in (("BT08", 8), ("ET59", 2048 + 59), ("ET85", 2048 + 85)):
                resp = _image(c.rng, response_spec(number, tag), c.dims)
                c.read(tid, number.to_bytes(2, "little") + resp[2:])
    # huge dimensions: layouts past the MAX_SLOTS cap, windows of random bytes
    big = {"nbr_summations": 255, "nbr_tiers": 255, "nbr_present_values": 255}
    bt21 = encode(CATALOG[21], big)
    c.exchange(b.full_read(21, len(bt21)), b.read_ok(bt21))
    for tid in (23, 28, 24):
        for off in (0, 3000, 80000):
            data = bytes(c.rng.randrange(256) for _ in range(MAX_DATA))
            c.exchange(b.partial_read(tid, off, MAX_DATA), b.read_ok(data))
    return c.records


@pytest.fixture(scope="module")
def catalog_capture(tmp_path_factory):
    """The capture of :func:`_catalog_corpus` for a seed, written once."""

    @functools.cache
    def get(seed: int) -> Path:
        folder = tmp_path_factory.mktemp(f"catalog{seed}")
        return write_records(folder / "catalog.pcapng", _catalog_corpus(seed))

    return get


@pytest.mark.parametrize("keys", [[MAK], []], ids=["MAK", "no key"])
def test_every_catalog_table_agrees(catalog_capture, decoded, keys):
    """Every table and procedure layout, full and partial reads and writes, under
    dimensions learned mid-capture: tshark shows each field as the catalog decodes it."""
    pcap = catalog_capture(3)
    py = decoded(pcap, keys)
    assert differences(pcap, keys, py=py) == []
    if keys:  # every table and procedure showed fields
        shown_tags = {a.split(".")[1] for fields, _i, _m, _e in py.values() for a in fields}
        expected = {s.tag.lower() for s in CATALOG.values()}
        expected |= {p.tag.lower() for p in PROCEDURES.values()} | {"procedure"}
        assert expected <= shown_tags
    shown = run_tshark(pcap, keys, ["-V"])
    assert shown.returncode == 0
    assert "Lua Error" not in shown.stdout + shown.stderr
    assert " contents" in shown.stdout


@pytest.mark.parametrize("lua", ["lua5.4", "lua5.2"])
def test_every_catalog_table_agrees_in_plain_lua(tmp_path, catalog_capture, decoded, lua):
    pcap = catalog_capture(4)
    assert compare(decoded(pcap, [MAK]), shim_decode(pcap, [MAK], tmp_path, lua)) == []


def test_table_fields_reach_wireshark(tmp_path):
    """Table fields are there to filter on, with learned BT21 dimensions."""
    c = _Corpus(random.Random(1))
    bt21 = next(s for s in CATALOG.values() if s.tag == "BT21")
    c.dims.learn_values("BT21", {"nbr_summations": 2, "nbr_tiers": 0})
    image = encode(bt21, {"nbr_summations": 2, "nbr_tiers": 0})
    c.exchange(b.full_read(21), b.read_ok(image))
    bt23 = next(s for s in CATALOG.values() if s.tag == "BT23")
    values = {s.path: -5 - k for k, s in enumerate(layout(bt23, c.dims.view()))}
    image = encode(bt23, values, c.dims.view())
    c.exchange(b.full_read(23), b.read_ok(image))
    pcap = write_records(tmp_path / "bt23.pcapng", c.records)
    assert differences(pcap, [MAK]) == []
    proc = run_tshark(pcap, [MAK], ["-Y", "mep.bt23.fwd_active_wh_l1l2l3 == -5", "-T", "fields",
                                    "-e", "frame.number", "-e", "mep.bt21.nbr_summations"])
    assert proc.stdout.split() == ["4"]
    for two_pass in (True, False):  # a filter alone: no visible tree
        args = ["-Y", "mep.bt23.fwd_active_wh_l1l2l3 == -5 && mep.bt21.nbr_tiers == 0"]
        proc = run_tshark(pcap, [MAK], args, two_pass=two_pass)
        assert proc.returncode == 0, proc.stderr
        assert len(proc.stdout.splitlines()) == 0
        args[1] = "mep.bt23.fwd_active_wh_l1l2l3 == -5"
        proc = run_tshark(pcap, [MAK], args, two_pass=two_pass)
        assert proc.returncode == 0, proc.stderr
        assert len(proc.stdout.splitlines()) == 1, proc.stdout


@pytest.mark.parametrize(
    "pcap", sorted((Path(__file__).parent.parent / "pcaps").glob("*.pcapng")), ids=lambda p: p.name
)
def test_every_sample_capture_agrees(decoded, pcap):
    """Every capture in pcaps/, with the keys pcaps/README.md names and without."""
    assert differences(pcap, [], py=decoded(pcap, [])) == []
    assert differences(pcap, [MAK, MBK], py=decoded(pcap, [MAK, MBK])) == []


def test_line_noise_is_not_taken_for_a_response():
    """Bytes mep-capture could not frame (its comment says why) answer no request,
    in scapy and in tshark alike; the response that follows them is paired."""
    from mepshark.dissector.link import read_capture

    noisy = Path(__file__).parent.parent / "pcaps" / "noisy.pcapng"
    frames = read_capture(noisy, [MAK, MBK])
    noise = [f for f in frames if f.unframed is not None]
    assert noise and all(f.request_in is None for f in noise)
    assert all(any("could not frame" in n for n in f.expert) for f in noise)
    answered = [f for f in frames if f.kind == "response" and f.request_in is not None]
    assert answered and all(f.digest_status == 1 for f in answered)
    lua, _ = lua_decode(noisy, [MAK, MBK])
    assert all("[request in" not in lua[f.number][1] for f in noise)


def test_bit_fields_show_their_bit_pattern():
    """A BOOL(x)/UINT(lo..hi) field has its mask in the ProtoField: Wireshark shows
    the bits it takes in its container, and filters on the field's own value."""
    from mepshark.dissector.wsfields import all_fields

    unprogrammed = next(f for f in all_fields() if f.abbrev == "mep.bt03.unprogrammed")
    assert (unprogrammed.mask, unprogrammed.bits) == (0x1, 16)
    decl = 'ProtoField.bool("mep.bt03.unprogrammed", "Unprogrammed", 16, nil, 0x1'
    assert decl in LUA.read_text()
    pcap = Path(__file__).parent.parent / "pcaps" / "use-cases.pcapng"
    shown = run_tshark(pcap, [MAK, MBK], ["-V"]).stdout
    assert re.search(r"^\s+\.\.\.\. \.\.\.\. \.\.\.\. \.\.\.[01] = Unprogrammed: (True|False)$",
                     shown, re.M), "no bit pattern for BT03 Unprogrammed"
    assert re.search(r"^\s+[.01 ]*[01]{2}[.01 ]* = [^:]+: \d", shown, re.M), "no multi-bit field"
    assert filtered_frames(pcap, [MAK, MBK], "mep.bt03.unprogrammed == 0")


_TRIAL_KIND = '''    FrameSpec("MEPPing", "MEP Ping", "request",
              (_length(), _code("request_code", 0x31, {0x31: "Ping"}, "Request"), _SEQ, _DIGEST),
              "{request_code:name} seq={sequence:hex32}", codes=(0x31,)),
'''

_TRIAL_RUN = '''
import json, sys
from pathlib import Path
sys.path[:0] = [sys.argv[1]]
import mepshark.dissector.frames as F
from mepshark.dissector.context import FROM_METER, TO_METER
from mepshark.dissector.luagen import write
from luadiff import differences, lua_decode, write_records
write(Path(sys.argv[2]) / "mep.lua")
ping = bytes(F.MEPPing(sequence=0x01020304))
pcap = write_records(Path(sys.argv[2]) / "ping.pcapng", [
    (0.0, TO_METER, ping), (0.05, FROM_METER, bytes(F.MEPErrorResponse(response_code=2))),
    (0.3, TO_METER, ping[:9]), (0.35, FROM_METER, bytes(F.MEPSequenceResponse(sequence=5)))])
print(json.dumps([differences(pcap), [v[1] for v in lua_decode(pcap)[0].values()]]))
'''


def test_a_new_frame_kind_needs_only_its_declaration(tmp_path):
    """A copy of the package with one more FrameSpec in framespec.py (nothing else
    changed) dissects the new kind in scapy and in tshark alike."""
    import json
    import os
    import shutil
    import subprocess

    root = Path(__file__).parent.parent
    pkg = tmp_path / "pkg" / "mepshark"
    shutil.copytree(root / "dissector", pkg / "dissector", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copytree(root / "capture", pkg / "capture", ignore=shutil.ignore_patterns("*.pyc"))
    spec = pkg / "dissector" / "framespec.py"
    text = spec.read_text()
    anchor = '    FrameSpec(\n        "MEPReadResponse"'
    requests = '"MEPPartialTableWrite")'
    assert anchor in text and requests in text
    text = text.replace(anchor, _TRIAL_KIND + anchor)
    spec.write_text(text.replace(requests, '"MEPPartialTableWrite", "MEPPing")'))
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "pkg"), MEP_LUA=str(tmp_path / "mep.lua"))
    args = [sys.executable, "-c", _TRIAL_RUN, str(Path(__file__).parent), str(tmp_path)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    problems, infos = json.loads(proc.stdout.splitlines()[-1])
    assert problems == []
    assert infos[0] == "Request: Ping seq=0x01020304"
    assert infos[1].startswith("Response: Unsupported request [request in 1,")
    assert infos[2].endswith("[malformed]")


def test_records_of_many_frames_keep_their_own_frames(tmp_path):
    """More than 64 frames in one record: frame 65 of a record once shared its
    second-pass slot with frame 1 of the next record, which showed that frame
    (or raised "Range is out of bounds" where it did not fit)."""
    read = bytes(b.partial_read(23, 0, 44))
    records = [
        (0.0, FROM_METER, b.ALERT * 70),
        (1.0, TO_METER, read * 3),
        (2.0, None, (read + b.ALERT + bytes(b.read_ok(bytes(5)))) * 80),
        (3.0, FROM_METER, b.ALERT * 130 + b"\x00"),
    ]
    pcap = write_records(tmp_path / "many.pcapng", records)
    proc = run_tshark(pcap, [MAK], ["-V"])
    assert proc.returncode == 0
    assert "Lua Error" not in proc.stdout + proc.stderr
    lua, _ = lua_decode(pcap, [MAK])
    assert len(lua[1][0]["mep.alert"]) == 70
    assert lua[2][0]["mep.table_id"] == [0x17] * 3
    assert len(lua[3][0]["mep.request_code"]) == 80
    assert len(lua[4][0]["mep.alert"]) == 130 and lua[4][2]
    py = scapy_decode(pcap, [MAK])
    for n, (fields, info, malformed, _experts) in py.items():
        assert lua[n][0] == fields and lua[n][2] == malformed, n
        # Wireshark cuts the Info column (COL_MAX_INFO_LEN)
        assert info.startswith(lua[n][1]) and len(lua[n][1]) >= min(len(info), 4000), n


def test_request_no_configured_key_opens(tmp_path):
    """Ciphertext under a key not configured whose first byte reads as a request
    code: with keys, an unknown body in Wireshark as in scapy, and its 0x0B answer
    names no table; a plain request with a wrong digest stays a request."""
    from test_context import OTHER, auth_failure, encrypted_under

    records, t = [], 0.0
    for body, first in [(b.partial_read(23, 0, 44), 0x40), (b.partial_read(23, 0, 44), 0x30),
                        (b.full_read(0x34, 7), 0x4F), (b.partial_read(28, 0, 44), 0x3F)]:
        wire, answer = encrypted_under(OTHER, body, first)
        records += [(t, TO_METER, wire), (t + 0.05, FROM_METER, answer)]
        t += 1.0
    plain, _ = b.Requester(OTHER, 0x200).seal(b.full_write(0x0832, b"\x01\x02"))
    records += [(t, TO_METER, plain), (t + 0.05, FROM_METER, auth_failure(plain))]
    pcap = write_records(tmp_path / "unknown-key.pcapng", records)
    for keys in ([], [MAK, MBK], [MBK]):
        assert differences(pcap, keys) == [], keys
    lua, _ = lua_decode(pcap, [MAK, MBK])
    for n in (1, 3, 5):
        fields, info, malformed, _experts = lua[n]
        assert info.startswith("Request: Unknown body") and "no configured key opens it" in info
        assert "mep.table_id" not in fields and fields["mep.digest.status"] == [0]
        assert not malformed
        assert lua[n + 1][1] == f"Response: Authentication failure [request in {n}, 50 ms]"
    # a partial read's ciphertext that starts with its own code fills the layout:
    # shown as the read it seems to be (1 in 256), with its bad digest
    assert lua[7][1].startswith("Request: Partial Table Read") and "[bad digest]" in lua[7][1]
    assert lua[9][0]["mep.table_id"] == [0x0832] and lua[9][0]["mep.digest.status"] == [0]
    assert lua[10][1].startswith("Response: Authentication failure (ET50 MEP Inbound Data Space)")
    proc = run_tshark(pcap, [MAK, MBK], ["-T", "fields", "-e", "frame.number",
                                         "-e", "_ws.expert.message"])
    experts = dict(line.split("\t", 1) for line in proc.stdout.splitlines())
    assert "No configured key opens it: encrypted under another key, or garbage" in experts["1"]
    assert "Digest verifies with no configured key, plain or decrypted" in experts["9"]


def test_response_times_before_the_request_and_beyond_any_clock(tmp_path):
    """A response stamped 88 ms before its request showed mep.time -1.912 s
    (whole seconds rounded down, not toward zero); one 2^64 - 1 microseconds
    after it raised a Lua error formatting the milliseconds with %d."""
    from mepshark.capture.pcapng import PcapngWriter
    from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND

    client = b.Requester(MAK, 5)
    for exp, times in [(6, [(1_000_000, 912_000), (2_000_000, 2**64 - 1)]),  # microseconds
                       (0, [(2, 10**16)])]:  # seconds: 10^16 of them, ms past 2^63
        pcap = tmp_path / f"times{exp}.pcapng"
        with open(pcap, "wb") as f, PcapngWriter(f, tsresol_exp=exp) as w:
            ifc, ifm = w.add_interface("client"), w.add_interface("meter")
            for t_req, t_resp in times:
                wire, seal = client.seal(b.partial_read(23, 0, 44))
                w.write(ifc, t_req, wire, EPB_OUTBOUND)
                w.write(ifm, t_resp, b.respond(b.read_ok(bytes(44)), seal), EPB_INBOUND)
        proc = run_tshark(pcap, [MAK], ["-V"])
        assert "Lua Error" not in proc.stdout + proc.stderr
        lua, _ = lua_decode(pcap, [MAK])
        if exp == 6:
            assert lua[2][0]["mep.time"] == [-0.088]
            assert lua[2][1].endswith("[request in 1, -88 ms]")
            assert lua[4][1].endswith(f"[request in 3, {round((2**64 - 1) / 1e3 - 2e3)} ms]")
        else:
            assert lua[2][1].endswith(f"[request in 1, {round((1e16 - 2) * 1e3)} ms]")
        assert differences(pcap, [MAK]) == []


@pytest.mark.parametrize("lua", ["lua5.4", "lua5.2"])
def test_many_frames_and_backward_times_in_plain_lua(tmp_path, lua):
    """The per-record frame slots and the response-time arithmetic above, under
    both interpreters (Wireshark 4.4+ embeds Lua 5.4)."""
    read = bytes(b.partial_read(23, 0, 44))
    pcap = write_records(tmp_path / "many.pcapng", [
        (0.0, FROM_METER, b.ALERT * 70), (1.0, TO_METER, read * 3),
        (2.0, None, (read + b.ALERT + bytes(b.read_ok(bytes(5)))) * 30),
        (3.0, TO_METER, read), (2.9, FROM_METER, bytes(b.read_ok(bytes(44)))),
    ])
    py = scapy_decode(pcap, [MAK])
    assert len(py[3][0]["mep.length"]) == 90
    assert compare(py, shim_decode(pcap, [MAK], tmp_path, lua)) == []


@pytest.mark.parametrize("between", [0, 13, 14, 15, 40])
def test_links_across_other_frames_and_inside_records(tmp_path, between):
    """A response paired with its request across other frames (alerts here): the
    distance is kept in the frame's flags up to a limit, beyond it and inside a
    record of many frames apart; both ways, on both passes, with and without a key."""
    read = bytes(b.partial_read(23, 0, 44))
    answer = bytes(b.read_ok(bytes(44)))
    alert = b"\x00\x00"
    records = [(1.0, TO_METER, read)]
    records += [(1.0 + 0.001 * (k + 1), FROM_METER, alert) for k in range(between)]
    records += [(1.3, FROM_METER, answer), (2.0, TO_METER, read),
                (2.1, FROM_METER, alert + answer)]
    pcap = write_records(tmp_path / "far.pcapng", records)
    assert differences(pcap, []) == []
    assert differences(pcap, [MAK]) == []
    response = between + 2
    text = run_tshark(pcap, [], ["-V"]).stdout  # -2: the first pass's links read back
    assert "[request in 1, 300 ms]" in text
    assert f"[request in {response + 1}, 100 ms]" in text
    assert f"[Response in: {response}]" in text
    assert f"[Response in: {response + 2}]" in text
    assert text.count("[Request in: 1]") == 1
