"""Real parts end to end: `mep-client optical` against `mep-sim --optical` through
`mep-capture --relay`, and a Gen 2/3 shared UART (`mep-sim --shared-uart`) with a MEP session
and an optical session; each capture decoded by tshark running the generated dissector and by
scapy's read_capture, compared field for field, and checked against what the programs did."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from luadiff import compare, lua_decode, scapy_decode
from simbench import MAK
from test_capture_support import Capture, read_scapy
from test_relay import INBOUND, OUTBOUND, messages, relay, split_c1218

from mepshark.client.values import as_json
from mepshark.dissector import c1218codes as codes
from mepshark.dissector.c1218context import REQUEST as C1218_REQUEST
from mepshark.dissector.c1218context import RESPONSE as C1218_RESPONSE
from mepshark.dissector.c1218context import C1218Info
from mepshark.dissector.link import read_capture
from mepshark.dissector.tables import table_id, table_tag
from mepshark.sim.optical import DEFAULT_PASSWORDS

SIM = [sys.executable, "-m", "mepshark.sim.cli"]
CLIENT = [sys.executable, "-m", "mepshark.client.cli"]
TABLES = ("BT01", "BT28", "ET11")


def decoded(pcap) -> tuple[dict, list]:
    """tshark's view (after checking it agrees with scapy's, field for field, without a Lua
    error) and scapy's frames."""
    lua, stderr = lua_decode(pcap)
    assert "Lua" not in stderr and "exit " not in stderr, stderr
    assert compare(scapy_decode(pcap), lua) == []
    return lua, list(read_capture(pcap))


def test_optical_client_through_the_relay_decoded_alike_by_tshark_and_scapy(tmp_path):
    sim = subprocess.Popen([*SIM, "--optical", "--pty", "--static", "-q"],
                           stdout=subprocess.PIPE, text=True)
    out = tmp_path / "optical.pcapng"
    try:
        port = sim.stdout.readline().strip()
        cap, relay_pty = relay(tmp_path, port, out)
        try:
            run = subprocess.run([*CLIENT, "optical", relay_pty, "--password",
                                  DEFAULT_PASSWORDS["RK"].decode(), "--packet-size", "256",
                                  "--packets", "4", "--json", *TABLES],
                                 capture_output=True, text=True, timeout=120)
        finally:
            assert cap.stop() == 0
    finally:
        sim.terminate()
        sim.wait(10)
    assert run.returncode == 0, run.stderr
    printed = {d["table"]: d for d in map(json.loads, run.stdout.splitlines())}
    assert set(printed) == set(TABLES)

    lua, frames = decoded(out)
    # Every record is C12.18 (a packet, an ACK or a NAK), every CRC holds, nothing is wrong.
    assert frames and all(isinstance(f, C1218Info) for f in frames)
    assert not any(f.malformed for f in frames)
    assert all(f.crc_status == 1 for f in frames if f.kind == "c1218_packet")
    # The capture's messages are the bytes that crossed the relay, each direction on its side.
    pkts = read_scapy(out)
    to_meter = messages(split_c1218(b"".join(p.data for p in pkts
                                             if p.direction == OUTBOUND))[0])
    from_meter = messages(split_c1218(b"".join(p.data for p in pkts
                                               if p.direction == INBOUND))[0])
    requests = [f for f in frames if f.message == C1218_REQUEST and f.retransmission_of is None]
    responses = [f for f in frames if f.message == C1218_RESPONSE]
    assert [bytes(f.service) for f in requests] == to_meter
    assert [bytes(f.service) for f in responses] == from_meter
    # Services in session order, as tshark shows them.
    services = [lua[f.number][0]["c1218.service"][0] for f in requests]
    assert services[:4] == [codes.IDENTIFY, codes.NEGOTIATE_FIRST, codes.LOGON, codes.SECURITY]
    assert services[-2:] == [codes.LOGOFF, codes.TERMINATE]
    assert set(services[4:-2]) == {codes.READ_FULL}
    # Every request answered ok, and paired both ways.
    assert [lua[f.number][0]["c1218.response_code"] for f in responses] == [[codes.OK]] * len(
        responses)
    for req, resp in zip(requests, responses, strict=True):
        assert lua[req.number][0]["c1218.response_in"] == [resp.number]
        assert lua[resp.number][0]["c1218.request_in"] == [req.number]
    # The tables read: those asked for (and the ones that size them), their contents as the
    # client decoded them live.
    read_ids = [lua[f.number][0]["c1218.table_id"][0] for f in requests
                if f.service.service == codes.READ_FULL]
    assert {table_id(t) for t in TABLES} <= set(read_ids)
    last_read = {table_tag(r.table_id): r for r in responses if r.table_id is not None}
    for tag in TABLES:
        assert as_json(tag, last_read[tag].table) == printed[tag]
    # The long answer (BT28) came in several packets, joined.
    assert last_read["BT28"].segments > 1


def hear_an_alert(port: str) -> bytes:
    """Listen on the MEP line until the meter sends its alert (00 00, once a second while
    its flag is set, never within a second of a request); what was heard."""
    import serial

    heard = b""
    with serial.Serial(port, timeout=0.1) as ser:
        ser.reset_input_buffer()  # (an alert sent before now, perhaps before the capture)
        for _ in range(300):  # a bound, not a timing: the alert comes within a few seconds
            heard += ser.read(64)
            if b"\x00\x00" in heard:
                break
    return heard


def test_shared_uart_mep_and_optical_sessions_decoded_as_what_crossed(tmp_path):
    """MEP alerts and frames are exactly the MEP line's (none made of the optical answers);
    the C12.18 packets and ACK/NAK bytes are records of their own, in tshark as in scapy."""
    from mepshark.client.link import Link
    from mepshark.client.optical import OpticalClient, OpticalLink
    from mepshark.client.session import MepClient

    tm, tc = tmp_path / "tap-meter", tmp_path / "tap-client"
    sim = subprocess.Popen([*SIM, "--shared-uart", "--default-keys", "--static",
                            "--sequence", "0xFF", "--alert-every", "0.3", "--tap", str(tm),
                            str(tc)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = tmp_path / "shared.pcapng"
    cap = None
    try:
        mep_port, probe_port = sim.stdout.readline().strip(), sim.stdout.readline().strip()
        cap = Capture(["--meter", str(tm), "--client", str(tc), "-w", str(out)])
        assert b"\x00\x00" in hear_an_alert(mep_port)
        mep = MepClient(Link(mep_port), MAK, sequence=0x100)
        bt01 = mep.read_raw("BT01")
        mep.link.close()
        lk = OpticalLink(probe_port)
        opt = OpticalClient(lk, DEFAULT_PASSWORDS["RK"])
        opt.start()
        bt28 = opt.read_raw(28)
        opt.finish()
        lk.close()
        assert b"\x00\x00" in hear_an_alert(mep_port)  # MEP is back: the alert again
        mep = MepClient(Link(mep_port), MAK, sequence=0x101)
        et03 = mep.read_raw("ET03")
        mep.link.close()
    finally:
        if cap is not None:
            assert cap.stop() == 0
        sim.terminate()
        _, said = sim.communicate(timeout=10)
    sent = re.search(r"(\d+) requests, (\d+) responses, (\d+) alerts", said)
    assert sent, said
    requests, responses, alerts_sent = map(int, sent.groups())
    assert (requests, responses) == (2, 2) and alerts_sent >= 2

    lua, frames = decoded(out)
    mep_frames = [f for f in frames if not isinstance(f, C1218Info)]
    optical = [f for f in frames if isinstance(f, C1218Info)]
    # The MEP frames: exactly the meter's alerts and answers and the client's requests.
    assert not any(f.malformed or f.unframed for f in mep_frames)
    from_meter = [f for f in mep_frames if f.direction == 1]
    alerts = [f for f in from_meter if f.kind == "alert"]
    # Every alert the meter sent while the capture ran (at least the two heard above; it
    # may send more after the capture stopped), and no false one.
    pkts = read_scapy(out)
    heard = [p for p in pkts if p.direction == INBOUND and p.data == b"\x00\x00"]
    assert [f.number for f in alerts] == [pkts.index(p) + 1 for p in heard]
    assert 2 <= len(alerts) <= alerts_sent
    assert all(lua[f.number][1].startswith("Alert") for f in alerts), [
        lua[f.number][1] for f in alerts]
    reads = [f for f in from_meter if f.kind != "alert"]
    assert [bytes(f.packet.data) for f in reads] == [bt01, et03]
    assert [f.kind for f in mep_frames if f.direction == 0] == ["request"] * requests
    # The optical answers are C12.18 records, every CRC good, and nothing else.
    meter_wire = b"".join(p.data for p in pkts if p.direction == INBOUND)
    assert optical and not any(f.malformed for f in optical)
    assert all(f.crc_status == 1 for f in optical if f.kind == "c1218_packet")
    answers = [bytes(f.service) for f in optical if f.message == C1218_RESPONSE]
    assert answers == messages(split_c1218(meter_wire)[0])
    assert any(bytes(f.service)[3:-1] == bt28 for f in optical if f.message == C1218_RESPONSE)
