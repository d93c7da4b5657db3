"""TLS-PSK sessions opened in tshark (Wireshark's own TLS dissector, fed by the
generated Lua) and in scapy (tlspsk), compared field for field.

tshark gets the sessions' secrets the three ways a user can give them: the
``tls.psk`` preference (one key), a key log file, and a Decryption Secrets
Block in a copy of the capture; scapy gets the MEP keys.  The plaintexts are
decoded by the same declarations as RC4 frames on both sides, so the table,
offset, count, contents and pairing must agree exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from luadiff import (
    compare,
    lua_decode,
    readable,
    run_tshark,
    scapy_decode,
    write_records,
)

from mepshark.dissector import builders as b
from mepshark.dissector.context import FROM_METER, TO_METER
from mepshark.dissector.link import read_capture
from mepshark.dissector.security import parse_key
from mepshark.dissector.tables import table_id
from mepshark.dissector.tlsplain import request_plaintext, response_plaintext
from mepshark.dissector.tlssecrets import inject_secrets, track_sessions

MAK = parse_key("01" * 16, "MAK")
MBK = parse_key("02" * 16, "MBK")
EXAMPLES = Path(__file__).parent.parent / "pcaps" / "spec-examples.pcapng"
TLS_SAMPLE = Path(__file__).parent.parent / "pcaps" / "tls.pcapng"


def psk(key) -> list[str]:
    return ["-o", f"tls.psk:{key.raw.hex()}"]


def keylog(pcap: Path, keys, tmp: Path) -> list[str]:
    lines = track_sessions(read_capture(pcap, follow_tls=False), keys).keylog()
    log = tmp / "keys.log"
    log.write_text("".join(line + "\n" for line in lines))
    return ["-o", f"tls.keylog_file:{readable(log)}"]


def agree(pcap: Path, keys, tls: list[str], tshark_keys=None) -> dict:
    """tshark (given ``tls``) and scapy (given ``keys``) decode alike; tshark's view."""
    lua, stderr = lua_decode(pcap, keys if tshark_keys is None else tshark_keys, tls=tls)
    assert "Lua" not in stderr and "exit" not in stderr, stderr
    assert compare(scapy_decode(pcap, keys), lua) == []
    return lua


# --- the guide's TLS examples: known answers ----------------------------------------------


def test_guide_examples_open_in_tshark_with_tls_psk():
    """Examples 1 and 2 under the default MAK (sixteen 0x01): the plaintexts the guide
    prints, decoded as a partial read of ET70 and its one-byte answer."""
    lua = agree(EXAMPLES, [MAK], psk(MAK))
    request, response = lua[5], lua[6]
    assert request[1] == ("Request: TLS Table: Partial Table Read ET70 RAM Only Status "
                          "off=142 cnt=1")
    assert request[0]["mep.request_code"] == [0x3F]
    assert request[0]["mep.table_id"] == [0x0846]
    assert request[0]["mep.offset"] == [142] and request[0]["mep.count"] == [1]
    assert response[1].startswith("Response: TLS Success: OK cnt=1 (ET70 RAM Only Status) "
                                  "[request in 5,")
    assert response[0]["mep.response_code"] == [0]
    assert response[0]["mep.data"] == [b"\x02"]
    assert response[0]["mep.request_in"] == [5]
    frames = read_capture(EXAMPLES, [MAK])
    assert bytes(frames[4].tls.packet) == bytes.fromhex("3F 08 46 00 00 8E 00 01")
    assert bytes(frames[5].tls.packet) == bytes.fromhex("00 00 01 02")


def test_guide_examples_without_the_key_say_so_on_both_sides():
    lua = agree(EXAMPLES, [MBK], psk(MBK))
    for n in (5, 6):
        fields, info, _bad, experts = lua[n]
        assert "mep.table_id" not in fields or n == 6
        assert "[Application Data]" in info
        assert any("No key opens this TLS session" in e for e in experts)
    lua, _ = lua_decode(EXAMPLES, [])  # no secrets at all
    assert "mep.request_code" not in lua[5][0]


# --- real sessions (python-mbedtls on both ends) ------------------------------------------


def _exchange(request, response) -> tuple[bytes, bytes]:
    return request_plaintext(request), response_plaintext(response)


ET70 = table_id("ET70")


def _mbedtls_capture(path: Path, split: bool = False, resend: bool = False) -> Path:
    """Two sessions, MAK then MBK: BT21 (a dimension table) then BT23 sized by it,
    a write refused, a read; with ``split`` the MAK session's first request record
    is cut across two frames (the meter answers the first piece with no records);
    with ``resend`` the client sends its first request twice (the first unanswered)."""
    from tlsutil import mbedtls_flights

    bt21 = bytes([0x0F, 0x00, 0x00, 0x00, 0x02, 0x02, 0x01, 0x00, 0x00, 0x02])
    first = mbedtls_flights(MAK.raw, client_id=0x0164, key_id=1, exchanges=[
        _exchange(b.full_read(table_id("BT21")), b.read_ok(bt21)),
        _exchange(b.partial_read(table_id("BT23"), 0, 8), b.read_ok(bytes(range(8)))),
        _exchange(b.partial_write(ET70, 5, b"\x01"), b.error(0x03)),
    ])
    second = mbedtls_flights(MBK.raw, client_id=7, key_id=0, exchanges=[
        _exchange(b.partial_read(ET70, 142, 1), b.read_ok(b"\x02")),
    ])
    flights = first + second
    if split:
        at = next(i for i, (d, c, _p) in enumerate(flights) if c == 0x80)
        d, c, p = flights[at]
        flights[at:at + 1] = [(d, c, p[:9]), (FROM_METER, 0x00, b""), (d, c, p[9:])]
    if resend:
        at = next(i for i, (d, c, _p) in enumerate(flights) if c == 0x80)
        flights.insert(at, flights[at])
    records = []
    for k, (direction, code, payload) in enumerate(flights):
        body = bytes([code]) + payload
        records.append((1.0 + 0.125 * k, direction, len(body).to_bytes(2, "big") + body))
    return write_records(path, records)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> Path:
    return _mbedtls_capture(tmp_path_factory.mktemp("tls") / "two-sessions.pcapng")


def test_two_sessions_open_with_a_key_log(sessions, tmp_path):
    lua = agree(sessions, [MAK, MBK], keylog(sessions, [MAK, MBK], tmp_path))
    infos = [info for _f, info, _m, _e in lua.values()]
    assert sum(i.startswith("Request: TLS Table: ") for i in infos) == 4
    bt23 = next(f for f, i, _m, _e in lua.values()
                if i.startswith("Response: TLS Success: OK cnt=8"))
    # BT23 laid out with the BT21 read inside the same session
    assert any(k.startswith("mep.bt23.") for k in bt23)
    refused = next(e for _f, i, _m, e in lua.values() if "No permission" in i)
    assert refused == ["Error response: No permission for specified request"]


def test_two_sessions_open_from_a_decryption_secrets_block(sessions, tmp_path):
    """No key anywhere on tshark's side: the capture carries the secrets."""
    lines = list(track_sessions(read_capture(sessions), [MAK, MBK]).keylog())
    assert len(lines) == 2
    copy = tmp_path / "with-secrets.pcapng"
    inject_secrets(sessions, copy, "".join(line + "\n" for line in lines))
    lua, stderr = lua_decode(copy, [], tls=[])
    assert "Lua" not in stderr
    assert compare(scapy_decode(sessions, [MAK, MBK]), lua) == []


def test_tls_psk_opens_the_sessions_of_its_key_only(sessions):
    """tls.psk holds one key: the MAK session opens, the MBK one says no key opens it."""
    lua = agree(sessions, [MAK], psk(MAK))
    unopened = [n for n, (_f, _i, _m, e) in lua.items()
                if any("No key opens this TLS session" in x for x in e)]
    assert len(unopened) == 2  # the MBK session's request and response


def test_a_wrong_key_opens_nothing_and_shows_no_garbage(sessions):
    wrong = parse_key("03" * 16, "MAK")
    lua = agree(sessions, [wrong], psk(wrong))
    for fields, info, _m, _e in lua.values():
        assert "mep.table_id" not in fields and "TLS Table: " not in info


def test_a_record_cut_across_two_frames_is_opened_whole(tmp_path):
    pcap = _mbedtls_capture(tmp_path / "split.pcapng", split=True)
    lua = agree(pcap, [MAK, MBK], keylog(pcap, [MAK, MBK], tmp_path))
    infos = [info for _f, info, _m, _e in lua.values()]
    assert any(i.startswith("Request: TLS Table: Full Table Read BT21") for i in infos)
    assert any(i.startswith("Response: TLS Success: OK cnt=10 (BT21") for i in infos)


def test_a_resent_request_is_not_fed_to_the_session_twice(tmp_path):
    pcap = _mbedtls_capture(tmp_path / "resent.pcapng", resend=True)
    lua = agree(pcap, [MAK, MBK], keylog(pcap, [MAK, MBK], tmp_path))
    infos = [info for _f, info, _m, _e in lua.values()]
    [resent] = [i for i in infos if "[retransmission of" in i]
    assert resent.startswith("Request: TLS Table: Full Table Read BT21")  # as the first one
    assert sum(i.startswith("Response: TLS Success: OK") for i in infos) == 3


def test_the_simulator_and_client_session_opens_from_the_clients_own_recording(bench, tmp_path):
    """mep-client --tls against mep-sim on a pty, recorded with its secrets embedded:
    tshark, given no key, shows what scapy shows with the key."""
    pytest.importorskip("mbedtls", reason="python-mbedtls (mepshark[tls]) is not installed")
    from mepshark.client.recorder import Recorder

    sim = bench()
    pcap = tmp_path / "client.pcapng"
    c = sim.client(key=MAK, tls=True, client_id=0x0164,
                   recorder=Recorder(str(pcap), sim.pair.device, secrets=[MAK]))
    c.read_raw("BT21")
    c.read_raw("BT28", 4, 8)
    c.channel.close()
    c.link.close()
    lua, stderr = lua_decode(pcap, [], tls=[])
    assert "Lua" not in stderr
    assert compare(scapy_decode(pcap, [MAK]), lua) == []
    assert any(i.startswith("Request: TLS Table: Partial Table Read BT28")
               for _f, i, _m, _e in lua.values())


def test_the_sample_capture_agrees_with_tls_psk_of_each_key():
    for key in (MAK, MBK):
        agree(TLS_SAMPLE, [key], psk(key))


# --- malformed TLS frames -----------------------------------------------------------------

_TLS_REQUESTS = st.sampled_from([0x57, 0x58, 0x59, 0x80])
_RECORD = st.builds(
    lambda t, v, body, cut: bytes([t]) + v + len(body).to_bytes(2, "big") + body[:cut],
    st.sampled_from([20, 21, 22, 23, 24, 99]), st.sampled_from([b"\x03\x03", b"\x03\x01",
                                                                b"\x02\x00"]),
    st.binary(max_size=60), st.integers(min_value=0, max_value=60))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_TLS_REQUESTS, st.lists(_RECORD, max_size=3),
                          st.sampled_from([0x00, 0x01, 0x03, 0x0A]), st.lists(_RECORD, max_size=3),
                          st.binary(max_size=6)), min_size=1, max_size=8))
def test_fuzzed_tls_frames_raise_no_lua_error_and_no_exception(tmp_path, exchanges):
    """Requests and answers whose records are cut, mistyped or garbage, with the TLS
    dissector armed with a key: both sides decode what they can and never fail."""
    bodies = [(fi.direction, fi.raw) for fi in read_capture(EXAMPLES)[:4]]  # a real handshake
    for code, req, answer, resp, tail in exchanges:
        bodies += [(TO_METER, bytes([code]) + b"".join(req) + tail),
                   (FROM_METER, bytes([answer]) + b"".join(resp))]
    records = [(1.0 + 0.25 * k, d, len(body).to_bytes(2, "big") + body)
               for k, (d, body) in enumerate(bodies)]
    pcap = write_records(tmp_path / "fuzz.pcapng", records)
    proc = run_tshark(pcap, [MAK], [*psk(MAK), "-V"])
    assert proc.returncode == 0 and "Lua" not in proc.stderr, proc.stderr
    assert scapy_decode(pcap, [MAK])


# --- mep-dissector decode -----------------------------------------------------------------


def test_decode_prints_the_plaintext_and_why_a_session_stays_closed(tmp_path):
    import subprocess
    import sys

    keys = tmp_path / "keys"
    keys.write_text(f"MAK={MAK.raw.hex()}\n")
    run = subprocess.run([sys.executable, "-m", "mepshark.dissector.cli", "decode", "-V",
                          "--key-file", str(keys), str(TLS_SAMPLE)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "Request: TLS Table: Partial Table Read ET13 MEP/M-Bus Device Configuration" in out
    assert "###[ TLS Partial Table Read ]###" in out and "offset    = 264" in out
    assert "TLS: no key opens this session (MBK not given)" in out  # the MBK session
    assert MAK.raw.hex() not in out
