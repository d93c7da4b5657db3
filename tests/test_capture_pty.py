"""mep-capture end to end on pseudo-terminals: real pyserial, real tshark, scapy to read back."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_capture_support import (
    BT_9600,
    MEP_CAPTURE,
    TOLERANCE,
    Capture,
    frames_session,
    read_scapy,
    read_tshark,
)

from mepshark.capture.ptyline import PtyLine, UartFeeder
from mepshark.dissector.frames import MEP

INBOUND, OUTBOUND = 1, 2


@pytest.fixture
def lines(tmp_path: Path):
    made: list[PtyLine] = []

    def make(name: str) -> PtyLine:
        line = PtyLine(tmp_path / name)
        made.append(line)
        return line

    yield make
    for line in made:
        line.close()


def by_interface(pkts) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for p in pkts:
        out[p.ifname] = out.get(p.ifname, b"") + p.data
    return out


def test_tap_two_lines(tmp_path: Path, lines) -> None:
    """Frames, alert, garbage and a cut frame on both lines: content, sides, order, time, bytes."""
    meter, client = lines("ttyMETER"), lines("ttyCLIENT")
    out = tmp_path / "tap.pcapng"
    cap = Capture(["--meter", str(meter.path), "--client", str(client.path), "-w", str(out)])
    f = frames_session()
    junk, cut = b"\xff\xff\x12", b"\x00\x20\x01\x02\x03\x04\x05"
    schedule = [
        (0.00, client, f["req1"]),
        (0.08, meter, f["resp1"]),
        (0.25, meter, f["alert"]),
        (0.35, client, junk),
        (0.35, client, f["req2"]),  # right behind the junk, no pause
        (0.45, meter, f["resp2"]),
        (0.60, meter, cut),  # a frame that stops: 100 ms of silence end it
        (0.90, client, f["req3"]),
        (1.00, meter, f["resp3"]),
    ]
    starts = UartFeeder({meter: BT_9600, client: BT_9600}).play(schedule)
    time.sleep(0.3)
    assert cap.stop() == 0
    assert "Packets captured: 9" in cap.stderr

    expected = [(line, data, start)
                for (_, line, data), start in zip(schedule, starts, strict=True)]
    expected.sort(key=lambda e: e[2])
    home = tmp_path / "home"
    home.mkdir()
    for pkts in (read_scapy(out), read_tshark(out, home)):
        assert [p.data for p in pkts] == [e[1] for e in expected]
        assert [p.ifname for p in pkts] == [str(e[0].path) for e in expected]
        assert [p.direction for p in pkts] == [
            INBOUND if e[0] is meter else OUTBOUND for e in expected
        ]
        errors = [p.time - e[2] for p, e in zip(pkts, expected, strict=True)]
        assert max(abs(e) for e in errors) < TOLERANCE, errors
        assert [p.time for p in pkts] == sorted(p.time for p in pkts)
        unframed = [p for p in pkts if p.comments]
        assert [p.data for p in unframed] == [junk, cut]
        assert "start no frame" in unframed[0].comments[0]
        assert "incomplete frame: 7 of 34 bytes" in unframed[1].comments[0]
        assert all(c.startswith("mep-capture: unframed: ") for p in unframed for c in p.comments)
        # Every byte written on a line is in that line's packets, once, in order.
        assert by_interface(pkts) == {str(meter.path): bytes(meter.written),
                                      str(client.path): bytes(client.written)}
    pkts = read_tshark(out, home)
    descs = {p.ifname: p.desc for p in pkts}
    assert descs[str(meter.path)] == "meter TXD (responses, alerts), 9600 8N1"
    assert descs[str(client.path)] == "client TXD (requests), 9600 8N1"
    # scapy decodes the user DLT as MEP
    from scapy.utils import rdpcap

    assert all(isinstance(p, MEP) for p in rdpcap(str(out)))


def test_unknown_side_infers_direction(tmp_path: Path, lines) -> None:
    """-i: one line, both directions on it; 19200 8E1 sets the byte time and description."""
    line = lines("ttyX")
    out = tmp_path / "one.pcapng"
    cap = Capture(["-i", str(line.path), "--baud", "19200", "--parity", "E", "-w", str(out)])
    f = frames_session()
    bt = 11 / 19200
    schedule = [(0.0, line, f["req1"]), (0.06, line, f["resp1"]), (0.2, line, f["alert"]),
                (0.3, line, b"\x7f\x7f")]
    starts = UartFeeder({line: bt}).play(schedule)
    time.sleep(0.3)
    assert cap.stop(signal.SIGTERM) == 0
    home = tmp_path / "home"
    home.mkdir()
    pkts = read_tshark(out, home)
    assert [p.direction for p in pkts[:3]] == [OUTBOUND, INBOUND, INBOUND]
    assert all(p.direction is None for p in pkts[3:])  # junk has no direction
    assert b"".join(p.data for p in pkts) == bytes(line.written)
    assert pkts[0].desc == "side unknown (direction inferred per frame), 19200 8E1"
    for p, start in zip(pkts[:3], starts[:3], strict=True):
        assert abs(p.time - start) < TOLERANCE


def test_pipe_is_live_in_tshark(tmp_path: Path, lines) -> None:
    """-w - | tshark -i -: each packet shows up while the capture is still running."""
    meter, client = lines("m"), lines("c")
    cap = Capture(["--meter", str(meter.path), "--client", str(client.path), "-w", "-"],
                  stdout=subprocess.PIPE)
    env = dict(os.environ, HOME=str(tmp_path))
    shark = subprocess.Popen(
        ["tshark", "-l", "-i", "-", "-T", "fields", "-e", "frame.interface_name",
         "-e", "frame.packet_flags_direction", "-e", "data.data"],
        stdin=cap.proc.stdout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    cap.proc.stdout.close()
    f = frames_session()
    try:
        for line, name, direction in ((client, "req1", 2), (meter, "resp1", 1),
                                      (meter, "alert", 1)):
            line.write(f[name])
            ready = select.select([shark.stdout], [], [], 10)[0]
            assert ready, f"tshark showed nothing for {name}"
            row = shark.stdout.readline().decode().rstrip("\n").split("\t")
            assert row == [str(line.path), f"0x{direction:08x}", f[name].hex()]
            assert cap.proc.poll() is None  # still capturing: this was live
    finally:
        rc = cap.stop()
        shark.wait(10)
    assert rc == 0


def test_pipe_reader_going_away_ends_capture(tmp_path: Path, lines) -> None:
    """When the pipe's reader quits (Wireshark closed), the capture ends, even on a quiet line."""
    line = lines("m")
    cap = Capture(["--meter", str(line.path), "-w", "-"], stdout=subprocess.PIPE)
    assert cap.proc.stdout.read(4) == b"\x0a\x0d\x0d\x0a"  # a pcapng section header
    cap.proc.stdout.close()
    assert cap.wait(timeout=5) == 0
    assert "Traceback" not in cap.stderr and "Packets captured: 0" in cap.stderr


def test_packet_count_and_duration(tmp_path: Path, lines) -> None:
    line = lines("m")
    out = tmp_path / "c.pcapng"
    cap = Capture(["--meter", str(line.path), "-c", "3", "-w", str(out)])
    f = frames_session()
    for name in ("resp1", "alert", "resp2", "resp3", "alert"):
        line.write(f[name])
        time.sleep(0.02)
    assert cap.wait() == 0
    assert len(read_scapy(out)) == 3

    out2 = tmp_path / "d.pcapng"
    t0 = time.monotonic()
    cap = Capture(["--meter", str(line.path), "-a", "duration:1", "-q", "-w", str(out2)],
                  wait_ready=False)
    assert cap.wait() == 0
    assert 0.9 < time.monotonic() - t0 < 6
    assert cap.lines == ["Packets captured: 0"]  # -q: the count only
    assert read_scapy(out2) == []


def test_ring_buffer(tmp_path: Path, lines) -> None:
    """-b filesize with and without files:N; every file stands alone; nothing lost."""
    meter, client = lines("m"), lines("c")
    f = frames_session()
    frames = [(client, f["req1"]), (meter, f["resp1"]), (client, f["req2"]), (meter, f["resp2"])]
    home = tmp_path / "home"
    home.mkdir()
    for keep in (None, 3):
        d = tmp_path / f"ring{keep}"
        d.mkdir()
        args = ["--meter", str(meter.path), "--client", str(client.path), "--baud", "115200",
                "-b", "filesize:1", "-w", str(d / "ring.pcapng")]
        if keep:
            args += ["-b", f"files:{keep}"]
        start = {meter: len(meter.written), client: len(client.written)}
        cap = Capture(args)
        for i in range(60):
            line, data = frames[i % 4]
            line.write(data)
            time.sleep(0.003)
        time.sleep(0.3)
        assert cap.stop() == 0
        names = sorted(p.name for p in d.iterdir())
        assert all(n.startswith("ring_") and n.endswith(".pcapng") for n in names)
        numbers = [int(n.split("_")[1]) for n in names]
        assert numbers == list(range(numbers[0], numbers[0] + len(names)))
        pkts = []
        for name in names:
            part = read_tshark(d / name, home)
            assert part, f"{name} is empty"
            pkts += part
            assert os.path.getsize(d / name) < 1000 + 600  # switched soon after 1 kB
        if keep is None:
            assert len(names) >= 4
            assert by_interface(pkts) == {
                str(meter.path): bytes(meter.written[start[meter]:]),
                str(client.path): bytes(client.written[start[client]:]),
            }
        else:
            assert len(names) == keep and numbers[0] > 1
            # the newest files hold the end of the traffic
            assert pkts[-1].data == frames[59 % 4][1]

    d = tmp_path / "timed"
    d.mkdir()
    cap = Capture(["--meter", str(meter.path), "-b", "duration:0.5", "-a", "files:2", "-w",
                   str(d / "t.pcapng")])
    assert cap.wait() == 0
    assert len(list(d.iterdir())) == 2


def test_kill_9_leaves_readable_file(tmp_path: Path, lines) -> None:
    line = lines("m")
    out = tmp_path / "k.pcapng"
    cap = Capture(["--meter", str(line.path), "-w", str(out)])
    f = frames_session()
    sent = [f["resp1"], f["alert"], f["resp2"], f["resp3"]] * 3
    for data in sent:
        line.write(data)
        time.sleep(0.01)
    time.sleep(0.3)
    cap.stop(signal.SIGKILL)
    home = tmp_path / "home"
    home.mkdir()
    assert [p.data for p in read_tshark(out, home)] == sent
    assert [p.data for p in read_scapy(out)] == sent


def test_sigterm_flushes_partial_frame(tmp_path: Path, lines) -> None:
    line = lines("m")
    out = tmp_path / "t.pcapng"
    cap = Capture(["--meter", str(line.path), "-w", str(out)])
    line.write(frames_session()["resp1"] + b"\x00\x30\x01")
    time.sleep(0.05)  # shorter than the silence: the partial frame is still held back
    assert cap.stop(signal.SIGTERM) == 0
    pkts = read_scapy(out)
    assert pkts[-1].data == b"\x00\x30\x01"
    assert "end of stream" in pkts[-1].comments[0]
    assert b"".join(p.data for p in pkts) == bytes(line.written)


def test_port_vanishes_and_returns(tmp_path: Path, lines) -> None:
    """An unplugged adapter is reported, reopened when back, and the gap commented."""
    meter, client = lines("ttyMEP"), lines("ttyCLI")
    out = tmp_path / "v.pcapng"
    cap = Capture(["--meter", str(meter.path), "--client", str(client.path), "-w", str(out)])
    f = frames_session()
    meter.write(f["resp1"])
    client.write(f["req1"])
    time.sleep(0.1)
    meter.vanish()
    cap.wait_for(f"{meter.path}: port lost")
    client.write(f["req2"])  # the other line goes on
    time.sleep(0.6)
    meter.reappear()
    cap.wait_for("port back")
    time.sleep(0.1)
    meter.write(f["resp2"])
    time.sleep(0.1)
    client.vanish()  # and this one never comes back
    cap.wait_for(f"{client.path}: port lost")
    time.sleep(0.2)
    assert cap.stop() == 0
    assert "2 port gap(s)" in cap.stderr
    pkts = read_scapy(out)
    m = [p for p in pkts if p.ifname == str(meter.path)]
    c = [p for p in pkts if p.ifname == str(client.path)]
    assert [p.data for p in m] == [f["resp1"], f["resp2"]]
    assert m[0].comments == []
    (gap,) = m[1].comments
    assert gap.startswith("mep-capture: gap: ") and "unavailable for" in gap
    assert "not captured" in gap
    seconds = float(gap.split("unavailable for ")[1].split(" s")[0])
    assert 0.5 < seconds < 5
    assert [p.data for p in c] == [f["req1"], f["req2"], b""]
    assert "had not come back" in c[-1].comments[0]
    assert c[-1].direction == OUTBOUND


def test_status_line_on_a_terminal(tmp_path: Path, lines) -> None:
    line = lines("m")
    master, slave = os.openpty()
    proc = subprocess.Popen(MEP_CAPTURE + ["--meter", str(line.path), "-w",
                                           str(tmp_path / "s.pcapng")],
                            stderr=slave, stdout=subprocess.DEVNULL)
    os.close(slave)
    seen = bytearray()
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            if select.select([master], [], [], 0.1)[0]:
                try:
                    seen.extend(os.read(master, 4096))
                except OSError:
                    return

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while b"Capturing on" not in seen and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    resp = frames_session()["resp1"]
    line.write(resp + b"\xff")
    time.sleep(0.8)
    proc.send_signal(signal.SIGINT)
    proc.wait(10)
    stop.set()
    t.join()
    os.close(master)
    text = seen.decode(errors="replace")
    assert "\r" in text
    assert f"meter→client 1 fr {len(resp)} B" in text
    assert "unframed 1 B" in text and "errors 0" in text and "0:00:0" in text


def test_pyserial_url_and_console_script(tmp_path: Path) -> None:
    out = tmp_path / "loop.pcapng"
    script = Path(sys.executable).with_name("mep-capture")
    res = subprocess.run([str(script), "-i", "loop://", "-a", "duration:0.3", "-q", "-w",
                          str(out)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    res = subprocess.run(["tshark", "-r", str(out), "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, env=dict(os.environ, HOME=str(tmp_path)))
    assert res.returncode == 0 and res.stdout == ""
    from scapy.utils import PcapNgReader

    with PcapNgReader(str(out)) as r:
        list(r)
        assert r.interfaces[0][2]["name"] == b"loop://"
        assert r.interfaces[0][2]["tsresol"] == 1_000_000
