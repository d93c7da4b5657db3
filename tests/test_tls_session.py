"""TLS-PSK end to end: mep-client and mep-sim on a pty pair, python-mbedtls on both ends.

The client's recording is read back and its sessions opened with the keys
(scapy side), so what the simulator served, what the client got and what a
capture shows are compared: one fact, three views.
"""

from __future__ import annotations

import pytest

pytest.importorskip("mbedtls", reason="python-mbedtls (mepshark[tls]) is not installed")

from simbench import MAK, MBK, Bench  # noqa: E402

from mepshark.client.recorder import Recorder  # noqa: E402
from mepshark.client.session import MepError  # noqa: E402
from mepshark.client.tlschannel import TLSRefused  # noqa: E402
from mepshark.dissector.link import read_capture  # noqa: E402
from mepshark.dissector.security import parse_key  # noqa: E402
from mepshark.dissector.tables import table_id  # noqa: E402
from mepshark.dissector.tlssecrets import track_sessions  # noqa: E402
from mepshark.sim.tlsservice import TLSService  # noqa: E402


def _raw(b: Bench, frame: bytes) -> bytes:
    """One frame to the simulator through a client link; its answer frame."""
    link = b.client().link
    return link.transact(frame)


def test_tls_reads_and_writes_through_the_simulator_and_the_capture_opens(bench, tmp_path):
    b = bench()
    pcap = tmp_path / "tls.pcapng"
    c = b.client(key=MAK, tls=True, client_id=0x0164,
                 recorder=Recorder(str(pcap), b.pair.device))
    bt01 = c.read_raw("BT01")
    assert bt01 == bytes(b.meter.images[table_id("BT01")])
    assert c.read_raw("BT28", 4, 8) == bytes(b.meter.images[table_id("BT28")])[4:12]
    c.write("ET50", b"\x01", offset=30)
    assert b.meter.images[table_id("ET50")][30] == 1
    assert c.channel.handshakes == 1
    assert [ex.key for ex in b.server.history if ex.kind in ("read", "write")] == ["MAK"] * 3
    assert all(ex.encrypted for ex in b.server.history if ex.kind in ("read", "write"))
    c.channel.close()
    c.link.close()

    frames = read_capture(pcap)
    tracker = track_sessions(frames, [MAK, MBK])
    [session] = tracker.sessions
    assert session.identity == (0x0164, 1) and session.ems and session.problem is None
    # Without the key the same capture says why it cannot open it, and shows nothing.
    closed = track_sessions(frames, [MBK])
    assert closed.sessions[0].master is None
    assert "MAK not given" in closed.sessions[0].problem


def test_wrong_key_is_refused_with_0x03(bench):
    b = bench()
    wrong = parse_key("03" * 16, "MAK")
    c = b.client(key=wrong, tls=True)
    with pytest.raises(TLSRefused) as err:
        c.read_raw("BT01")
    assert err.value.code == 0x03


def test_table_request_without_a_session_gets_0x0a(bench):
    b = bench()
    answer = _raw(b, bytes.fromhex("0026 80") + bytes(0x25))
    assert answer == bytes.fromhex("0001 0A")


def test_client_handshakes_again_after_0x0a(bench):
    b = bench()
    c = b.client(key=MBK, tls=True)
    c.read_raw("BT01")
    b.server.tls.endpoint = None  # the meter lost its session (restart, time-out)
    assert c.read_raw("BT01") == bytes(b.meter.images[table_id("BT01")])
    assert c.channel.handshakes == 2


def test_rc4_is_refused_while_a_session_is_open_and_accepted_after_terminate(bench):
    b = bench()
    tls = b.client(key=MAK, tls=True)
    tls.read_raw("BT01")
    rc4 = b.client(key=MAK, sequence=0x1001)
    with pytest.raises(MepError) as err:
        rc4.read_raw("BT01")
    assert err.value.code == 0x02
    tls.channel.close()
    assert rc4.read_raw("BT01") == bytes(b.meter.images[table_id("BT01")])


def test_a_port_that_requires_tls_refuses_rc4(bench):
    b = bench()
    b.server.tls = TLSService([MAK, MBK], required=True)
    with pytest.raises(MepError) as err:
        b.client(key=MAK, sequence=0x1001).read_raw("BT01")
    assert err.value.code == 0x02
    assert b.client(key=MAK, tls=True).read_raw("BT01")


def test_the_identitys_key_sets_the_rights(bench):
    b = bench()
    c = b.client(key=MBK, tls=True)
    with pytest.raises(MepError) as err:
        c.write("ET03", b"\x00", offset=0)  # the utility's information: MAK only
    assert err.value.code == 0x03


def test_console_scripts_speak_tls(tmp_path):
    """mep-sim --tls in its own process, mep-client --tls (and without) in others."""
    import json
    import subprocess
    import sys

    keys = tmp_path / "keys"
    keys.write_text("MAK=" + "01" * 16 + "\nMBK=" + "02" * 16 + "\n")
    sim = subprocess.Popen([sys.executable, "-m", "mepshark.sim.cli", "--pty", "--key-file",
                            str(keys), "--tls", "-a", "duration:30", "-q"],
                           stdout=subprocess.PIPE, text=True)
    client = [sys.executable, "-m", "mepshark.client.cli", "--key-file", str(keys), "--json"]
    try:
        port = sim.stdout.readline().strip()
        run = subprocess.run([*client, "--port", port, "--tls", "--client-id", "0x0164",
                              "-w", str(tmp_path / "tls.pcapng"), "read", "ET03"],
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["fields"]["utility_serial_number"].startswith("MEPSIM")
        rc4 = subprocess.run([*client, "--port", port, "read", "BT01"],
                             capture_output=True, text=True, timeout=30)
        assert rc4.returncode == 1 and "0x02" in rc4.stderr
        assert len(rc4.stderr.strip().splitlines()) == 1
        bad = subprocess.run([*client, "--port", port, "--tls", "--client-id", "0x80", "read",
                              "BT01"], capture_output=True, text=True, timeout=30)
        assert bad.returncode == 2 and "below 0x80" in bad.stderr
    finally:
        sim.terminate()
        sim.wait(5)
    frames = read_capture(tmp_path / "tls.pcapng")
    [session] = track_sessions(frames, [MAK]).sessions
    assert session.identity == (0x0164, 1) and session.master is not None


def _blocks(path) -> list[tuple[int, bytes]]:
    """(type, body) of each pcapng block, in file order."""
    import struct

    data, at, out = path.read_bytes(), 0, []
    while at + 12 <= len(data):
        kind, size = struct.unpack_from("<II", data, at)
        out.append((kind, data[at + 8 : at + size - 4]))
        at += size
    return out


def test_client_recording_embeds_each_secret_before_the_frame_it_opens(bench, tmp_path):
    b = bench()
    pcap = tmp_path / "tls-dsb.pcapng"
    c = b.client(key=MBK, tls=True, recorder=Recorder(str(pcap), b.pair.device, secrets=[MBK]))
    c.read_raw("BT01")
    c.channel.close()
    c.read_raw("BT52")  # a second session
    c.link.close()
    order = []
    for kind, body in _blocks(pcap):
        if kind == 0x0A:  # DSB: secrets type, length, key log text
            order.append(("secret", body[8 : 8 + int.from_bytes(body[4:8], "little")]))
        elif kind == 6:  # EPB: the frame's code byte
            order.append(("frame", body[20 + 2]))
    codes = [x for kind, x in order if kind == "frame"]
    secrets = [i for i, (kind, _) in enumerate(order) if kind == "secret"]
    assert len(secrets) == 2
    for i in secrets:  # each secret precedes the frame with the ClientKeyExchange (0x59)
        assert order[i + 1] == ("frame", 0x59)
    assert codes.count(0x58) == 2
    tracked = track_sessions(read_capture(pcap), [MBK])
    expected = [line.encode() + b"\n" for line in tracked.keylog()]
    assert [text for kind, text in order if kind == "secret"] == expected


def test_capture_on_a_tap_embeds_the_secrets_of_the_sessions_it_hears(tmp_path):
    """mep-capture --embed-secrets with the keys in its environment, a TLS session tapped."""
    from mepshark.client.link import Link
    from mepshark.client.session import MepClient
    from mepshark.sim.tapped import BAUD, record

    def scenario(port, sim):
        c = MepClient(Link(port, BAUD, pace=True), MAK, tls=True, client_id=5)
        try:
            c.read_raw("BT01")
        finally:
            c.link.close()

    out = tmp_path / "tapped-tls.pcapng"
    record(out, scenario, capture_args=["--embed-secrets"],
           capture_env={"MEP_MAK": "01" * 16, "MEP_MBK": "02" * 16})
    kinds = [kind for kind, _ in _blocks(out)]
    assert kinds.count(0x0A) == 1
    dsb = kinds.index(0x0A)
    frames_before = [body[22] for kind, body in _blocks(out)[:dsb] if kind == 6]
    assert frames_before[-2:] == [0x58, 0x00]  # after the hellos, before the key exchange
    assert b"01" * 16 not in out.read_bytes() and bytes([1]) * 16 not in out.read_bytes()
    [session] = track_sessions(read_capture(out), [MAK]).sessions
    assert session.keylog_line().encode() in out.read_bytes()


def test_an_encrypted_rc4_request_starting_with_a_tls_code_is_still_rc4(bench):
    """RC4 ciphertext can begin with 0x57..0x59 or 0x80: the digest decides, not the byte."""
    from mepshark.dissector import builders as bld

    b = bench()
    req = bld.Requester(MBK, 0x1001, encrypt=True)
    for _ in range(400):  # about 1 in 64 ciphertexts starts with one of the four codes
        frame, _seal = req.seal(bld.full_read(table_id("BT01"), 24))
        if frame[2] in (0x57, 0x58, 0x59, 0x80):
            break
    else:
        pytest.fail("no ciphertext started with a TLS code")
    b.server.last_sequence = req.sequence - 2
    answer = b.server.handle(frame[2:])
    assert answer is not None and len(answer) > 3 + 8  # an RC4 read response, not a TLS one
    assert b.server.history[-1].kind == "read" and b.server.history[-1].encrypted
