"""mep-sim: the default meter, the protocol engine, and the line discipline on a pty."""

from __future__ import annotations

import os
import select
import time

import pytest

from mepshark.capture.ptyline import PtyPair
from mepshark.dissector.builders import (
    Requester,
    full_read,
    full_write,
    partial_read,
    partial_write,
)
from mepshark.dissector.catalog import decode, spec_for, table_size
from mepshark.dissector.catalog.procedure_calls import (
    SCHEDULED_READ,
    bt07_image,
    ep39_params,
    procedure_id,
)
from mepshark.dissector.frames import MEP
from mepshark.dissector.sealing import open_response
from mepshark.dissector.security import Key
from mepshark.dissector.tables import table_id
from mepshark.sim import cli as sim_cli
from mepshark.sim.faults import GARBAGE, Faults
from mepshark.sim.meter import SERVED, Meter, dimensions
from mepshark.sim.port import SimPort, serve_in_thread
from mepshark.sim.server import MepServer
from mepshark.sim.tapped import demo_keys

MAK, MBK = demo_keys()
WRONG = Key("MAK", bytes([9]) * 16)


def server(**kw) -> MepServer:
    return MepServer(Meter(animate=kw.pop("animate", False)), [MBK, MAK], last_sequence=1000)


def ask(srv: MepServer, req: Requester, body):
    frame, seal = req.seal(body)
    raw = srv.handle(frame[2:])
    plain, ok, dec = open_response(raw[2:], seal)
    return MEP(len(plain).to_bytes(2, "big") + plain), ok, dec


# --- the default meter ---------------------------------------------------------------


def test_default_meter_dimensions_agree_with_sizes():
    m = Meter(animate=False)
    dims = dimensions(m.images)
    assert dims["BT21.nbr_summations"] == 15 and dims["ET11.config_entry_size"] == 66
    for tag in SERVED:
        spec = spec_for(tag)
        if spec is None or tag in ("BT07", "BT08", "ET59"):
            continue
        img = m.images[table_id(tag)]
        assert len(img) == table_size(spec, dims), tag
        assert not decode(spec, bytes(img), dims=dims, full=True).problems, tag
    assert m.values("ET03")["utility_serial_number"].startswith("MEPSIM")
    assert m.values("BT01")["manufacturer"] == "EELC"


def test_energy_grows_and_clock_runs():
    t = [0.0]
    m = Meter(clock=lambda: t[0])
    e0 = m.values("BT23")["fwd_active_wh_l1l2l3"]
    c0 = m.values("BT52")["clock_calendar"]
    p0 = m.values("BT28")["fwd_active_w_l1l2l3"]
    t[0] = 3600.0
    e1 = m.values("BT23")["fwd_active_wh_l1l2l3"]
    assert 3000 < e1 - e0 < 9000  # about 5 kW for an hour
    assert (m.values("BT52")["clock_calendar"] - c0).total_seconds() == pytest.approx(3600, abs=1)
    assert m.values("BT28")["fwd_active_w_l1l2l3"] != p0
    assert 225_000 < m.values("BT28")["rms_voltage_l2"] < 235_000


def test_save_and_load(tmp_path):
    m = Meter(animate=False)
    m.update("ET03", {"utility_serial_number": "SAVED-1"})
    path = tmp_path / "meter.json"
    m.save(path)
    back = Meter.load(path, animate=False)
    assert back.images == m.images
    assert back.values("ET03")["utility_serial_number"] == "SAVED-1"


def test_cli_save(tmp_path, capsys):
    path = tmp_path / "m.json"
    assert sim_cli.main(["--save", str(path), "--static", "-q"]) == 0
    assert len(Meter.load(path).images) == len(SERVED)
    assert "0101" * 8 not in path.read_text().replace("01010101010101010101", "")


# --- the engine ------------------------------------------------------------------------


def test_sequence_window_and_resync():
    srv = server()
    req = Requester(MAK, sequence=1000)  # already used: 0x0C
    pkt, ok, _ = ask(srv, req, full_read(0))
    assert ok and pkt.response_code == 0x0C and pkt.sequence == 1001
    req.resync(1001 + 7)  # up to 8 ahead is fine
    pkt, ok, _ = ask(srv, req, full_read(0))
    assert ok and pkt.response_code == 0 and len(pkt.data) == 79
    req.resync(1008 + 9)  # 9 ahead is not
    pkt, ok, _ = ask(srv, req, full_read(0))
    assert pkt.response_code == 0x0C and pkt.sequence == 1009


def test_wrong_key_gets_auth_failure_in_clear():
    srv = server()
    pkt, ok, dec = ask(srv, Requester(WRONG, sequence=1001, encrypt=True), full_read(0))
    assert pkt.response_code == 0x0B and not dec
    assert srv.history[-1].kind == "auth"
    assert srv.last_sequence == 1000  # a failed request moves nothing


def test_access_rights():
    srv = server()
    mbk, mak = Requester(MBK, sequence=1001), None
    pkt, ok, _ = ask(srv, mbk, partial_write(table_id("BT23"), 0, b"\0\0\0\0"))
    assert ok and pkt.response_code == 0x03
    pkt, ok, _ = ask(srv, mbk, partial_write(table_id("ET50"), 30, b"\x03"))
    assert ok and pkt.response_code == 0
    mak = Requester(MAK, sequence=srv.expected)
    pkt, ok, _ = ask(srv, mak, partial_write(table_id("BT23"), 0, b"\x01\0\0\0"))
    assert ok and pkt.response_code == 0 and srv.history[-1].key == "MAK"
    pkt, ok, _ = ask(srv, mak, full_write(28, b"\0" * 4))
    assert pkt.response_code == 0x03  # BT28 is read-only for everyone
    assert (srv.history[-1].kind, srv.history[-1].code) == ("error", 0x03)
    pkt, ok, _ = ask(srv, mak, full_read(table_id("ET99")))
    assert pkt.response_code == 0x05
    assert (srv.history[-1].kind, srv.history[-1].code) == ("error", 0x05)
    assert srv.history[-1].table == table_id("ET99") and srv.history[-1].key == "MAK"


def test_verified_body_that_is_no_table_request_is_unrecognized():
    srv = server()
    protected = bytes([0x20, 0, 0, 0x03, 0xE9])
    raw = srv.handle(protected + MAK.digest(protected))
    assert raw[2] == 0x01 and srv.history[-1].kind == "error"
    assert srv.last_sequence == 1000


def test_encrypted_request_gets_encrypted_response():
    srv = server()
    pkt, ok, dec = ask(srv, Requester(MBK, sequence=1001, encrypt=True), full_read(23))
    assert ok and dec and pkt.response_code == 0 and len(pkt.data) == 300
    assert srv.history[-1].encrypted and srv.history[-1].key == "MBK"


def test_partial_read_and_too_long_read():
    srv = server()
    req = Requester(MAK, sequence=1001)
    pkt, ok, _ = ask(srv, req, partial_read(table_id("ET03"), 0, 30))
    assert pkt.data.startswith(b"MEPSIM")
    srv.meter.images[table_id("ET51")] = bytearray(600)
    pkt, ok, _ = ask(srv, req, full_read(table_id("ET51")))
    assert pkt.response_code == 0x04


def test_procedures_post_into_et59():
    EP39 = procedure_id("EP39")
    srv = server()
    srv.meter.set_alert("scheduled_read_request_alert")
    req = Requester(MBK, sequence=1001)
    ask(srv, req, full_write(7, bt07_image(EP39, 5, ep39_params(SCHEDULED_READ, b"abc"))))
    assert not srv.meter.alerting()
    pkt, ok, _ = ask(srv, req, full_read(table_id("ET59")))
    assert pkt.data[:4] == bytes([EP39 & 0xFF, EP39 >> 8, 5, 0])
    ask(srv, req, full_write(7, bt07_image(procedure_id("EP19"), 6, b"\0" * 8)))  # MAK only
    pkt, ok, _ = ask(srv, req, full_read(table_id("ET59")))
    assert pkt.data[2:4] == bytes([6, 5])


# --- on the line -------------------------------------------------------------------------


@pytest.fixture
def line():
    pair = PtyPair()
    srv = server()
    port = SimPort(pair.master, srv)
    thread = serve_in_thread(port)
    client = os.open(pair.device, os.O_RDWR | os.O_NOCTTY)
    yield port, client
    port.stop()
    thread.join(2)
    os.close(client)
    pair.close()


def _read_timed(fd: int, seconds: float) -> list[tuple[float, bytes]]:
    out = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        r, _, _ = select.select([fd], [], [], left)
        if r:
            out.append((time.monotonic(), os.read(fd, 4096)))
    return out


def test_segments_throttle_and_faults(line, monkeypatch):
    import mepshark.sim.port as sim_port

    writes: list[tuple[float, int]] = []
    real = sim_port._write_all

    def spy(fd, data, timeout=1.0):
        writes.append((time.monotonic(), len(data)))
        return real(fd, data, timeout)

    monkeypatch.setattr(sim_port, "_write_all", spy)
    port, fd = line
    req = Requester(MAK, sequence=1001)
    f1, _ = req.seal(full_read(28))  # 336 data bytes: a 349-byte frame, three segments
    f2, _ = req.seal(full_read(0))
    t0 = time.monotonic()
    os.write(fd, f1 + f2)
    got = _read_timed(fd, 0.5)
    data = b"".join(d for _, d in got)
    assert len(data) == 349 + 92
    # 117-byte segments, 25 ms apart
    assert [n for _, n in writes] == [117, 117, 115, 92]
    assert writes[1][0] - writes[0][0] >= 0.024 and writes[2][0] - writes[1][0] >= 0.024
    # the second request waited its 100 ms
    assert got[-1][0] - t0 >= 0.1
    port.faults.garbage = 1
    f3, _ = req.seal(full_read(0))
    os.write(fd, f3)
    data = b"".join(d for _, d in _read_timed(fd, 0.3))
    assert data.startswith(GARBAGE) and len(data) == len(GARBAGE) + 92
    port.faults.drop = 1
    f4, _ = req.seal(full_read(0))
    os.write(fd, f4)
    assert _read_timed(fd, 0.3) == []


def test_alerts_once_a_second_held_off_after_a_frame(line):
    port, fd = line
    port.server.meter.set_alert("mbus_change")
    got = _read_timed(fd, 2.3)
    alerts = [t for t, d in got if d == b"\0\0"]
    assert len(alerts) in (2, 3)
    assert all(b - a >= 0.95 for a, b in zip(alerts, alerts[1:], strict=False))
    f, _ = Requester(MAK, sequence=1001).seal(full_read(0))
    os.write(fd, f)
    t_req = time.monotonic()
    got = _read_timed(fd, 1.5)
    later = [t for t, d in got if d == b"\0\0"]
    assert later and later[0] - t_req >= 0.95


def test_faults_rate_is_repeatable():
    a, b = Faults(rate=0.5, seed=3), Faults(rate=0.5, seed=3)
    assert [a.pick() for _ in range(20)] == [b.pick() for _ in range(20)]
    assert Faults.corrupted(b"\0\1\2")[-1] == 3


def test_cli_tap_mirrors_both_directions(tmp_path):
    """mep-sim --tap: each direction on a pty of its own, for mep-capture."""
    import subprocess
    import sys

    sim = subprocess.Popen(
        [sys.executable, "-m", "mepshark.sim.cli", "--pty", str(tmp_path / "meter"), "--tap",
         str(tmp_path / "tm"), str(tmp_path / "tc"), "--default-keys", "-a", "duration:15",
         "--sequence", "0x100", "-q"], stdout=subprocess.PIPE, text=True)
    fds = []
    try:
        port = sim.stdout.readline().strip()
        assert port == str(tmp_path / "meter")
        fds = [os.open(p, os.O_RDWR | os.O_NOCTTY) for p in (port, tmp_path / "tm",
                                                             tmp_path / "tc")]
        import tty

        for fd in fds:
            tty.setraw(fd)
        client, tap_meter, tap_client = fds
        frame, _ = Requester(MAK, sequence=5).seal(full_read(1))
        os.write(client, frame)
        answer = b"".join(d for _, d in _read_timed(client, 0.4))
        assert answer[2] == 0x0C
        assert MEP(answer).sequence == 0x101  # --sequence 0x100: the last one accepted
        assert b"".join(d for _, d in _read_timed(tap_client, 0.1)) == frame
        assert b"".join(d for _, d in _read_timed(tap_meter, 0.1)) == answer
    finally:
        for fd in fds:
            os.close(fd)
        sim.terminate()
        sim.wait(5)
