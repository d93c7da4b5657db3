"""mep-capture pieces on their own: line settings, directions, errors, outputs, counters."""

from __future__ import annotations

import errno
import subprocess
import threading
import time
from pathlib import Path

import pytest
import serial
from test_capture_support import frames_session, read_scapy

from mepshark.capture import serialport
from mepshark.capture.cli import main, parse_conditions
from mepshark.capture.ptyline import PtyLine
from mepshark.capture.ring import PcapngOutput, RingSpec, ring_name
from mepshark.capture.serialport import LineSpec, explain, latency_warning
from mepshark.capture.session import CaptureSession, frame_direction, silence_for
from mepshark.capture.status import Counters, status_text
from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND
from mepshark.dissector.deframer import ALERT, FRAME, UNFRAMED, Chunk


def test_line_settings() -> None:
    s = LineSpec("/dev/ttyUSB0", "meter")
    assert s.bits_per_char == 10 and s.byte_time == pytest.approx(10 / 9600)
    assert s.description == "meter TXD (responses, alerts), 9600 8N1"
    s = LineSpec("x", "client", 115200, 7, "E", 2)
    assert s.bits_per_char == 11 and s.framing == "7E2"
    assert s.description == "client TXD (requests), 115200 7E2"
    assert LineSpec("x", baud=300).framing == "8N1"
    # slow lines get a longer silence: four characters at 300 baud is 133 ms
    assert silence_for(LineSpec("x", baud=300)) == pytest.approx(4 * 10 / 300)
    assert silence_for(LineSpec("x", baud=9600)) == 0.100
    assert silence_for(LineSpec("x"), 0.5) == 0.5


def test_direction_from_side_or_first_body_byte() -> None:
    f = frames_session()
    meter, client, unknown = LineSpec("a", "meter"), LineSpec("b", "client"), LineSpec("c")
    chunk = Chunk(FRAME, f["req1"], 0.0)
    assert frame_direction(meter, chunk) == EPB_INBOUND  # the wire decides, not the content
    assert frame_direction(client, Chunk(UNFRAMED, b"\xff", 0.0, "x")) == EPB_OUTBOUND
    assert frame_direction(unknown, chunk) == EPB_OUTBOUND
    assert frame_direction(unknown, Chunk(FRAME, f["resp1"], 0.0)) == EPB_INBOUND
    assert frame_direction(unknown, Chunk(ALERT, b"\x00\x00", 0.0)) == EPB_INBOUND
    assert frame_direction(unknown, Chunk(FRAME, b"\x00\x01\x77", 0.0)) is None
    assert frame_direction(unknown, Chunk(UNFRAMED, b"\x00\x01\x30", 0.0, "x")) is None
    for code in (0x30, 0x3F, 0x40, 0x4F, 0x57, 0x58, 0x59, 0x80):
        assert frame_direction(unknown, Chunk(FRAME, bytes([0, 1, code]), 0.0)) == EPB_OUTBOUND
    for code in range(0x0D):
        assert frame_direction(unknown, Chunk(FRAME, bytes([0, 1, code]), 0.0)) == EPB_INBOUND


def test_open_errors_say_what_to_do() -> None:
    exc = serial.SerialException(
        errno.EACCES, "could not open port /dev/ttyUSB0: [Errno 13] Permission denied: "
        "'/dev/ttyUSB0'")
    assert explain("/dev/ttyUSB0", exc) == (
        "cannot open /dev/ttyUSB0: Permission denied — add yourself to the dialout group "
        "(sudo usermod -aG dialout $USER, then log in again)")
    exc = serial.SerialException(errno.EBUSY, "[Errno 16] Device or resource busy")
    assert "another program holds the port" in explain("/dev/ttyUSB0", exc)
    assert "not known" in explain("foo://", ValueError("invalid URL, protocol 'foo' not known"))


def test_command_line_errors_are_one_line(capsys, tmp_path: Path) -> None:
    cases = [
        ([], 2, "no serial line given"),
        (["--meter", "a", "--client", "a"], 2, "given twice"),
        (["--meter", "a", "--baud", "0"], 2, "--baud must be positive"),
        (["--meter", "a", "--dlt", "1"], 2, "not a user DLT; use 147..162"),
        (["--meter", "a", "-b", "filesize:1"], 2, "needs -w FILE"),
        (["--meter", "a", "-w", "-", "-b", "duration:1"], 2, "needs -w FILE"),
        (["--meter", "a", "-a", "files:2", "-w", "x"], 2, "needs a ring buffer"),
        (["--meter", "a", "-a", "duration:x"], 2, "needs a number"),
        (["--meter", "a", "--nope"], 2, "unrecognized arguments"),
        (["--meter", str(tmp_path / "nothing")], 1, "No such file or directory — check"),
        (["--meter", "/dev/null", "-w", str(tmp_path / "x.pcapng")], 1, "not a serial port"),
        (["--meter", "loop://", "-w", str(tmp_path / "no" / "x.pcapng")], 1,
         "choose a writable path"),
        (["--meter", "loop://", "-w", "/dev/full"], 1, "No space left on device"),
    ]
    for argv, rc, text in cases:
        assert main(argv) == rc, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("mep-capture: ") and text in err, err
    assert not (tmp_path / "x.pcapng").exists()  # no empty file left behind
    keep = tmp_path / "old.pcapng"
    keep.write_bytes(b"an earlier capture")
    assert main(["--meter", str(tmp_path / "nothing"), "-w", str(keep)]) == 1
    assert keep.read_bytes() == b"an earlier capture"  # a bad port costs no file


def test_conditions() -> None:
    allowed = {"duration": False, "files": True}
    assert parse_conditions(["duration:1.5", "files:3"], allowed, "-a") == {
        "duration": 1.5, "files": 3}
    with pytest.raises(Exception, match="use duration:N, files:N"):
        parse_conditions(["size:3"], allowed, "-a")
    with pytest.raises(Exception, match="positive"):
        parse_conditions(["files:0"], allowed, "-a")


def test_latency_timer_warning(tmp_path: Path) -> None:
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    (sysfs / "ttyUSB0").mkdir(parents=True)
    dev.mkdir()
    (dev / "ttyUSB0").touch()
    (dev / "by-id").symlink_to(dev / "ttyUSB0")  # names resolve to the real device
    (sysfs / "ttyUSB0" / "latency_timer").write_text("16\n")
    warning = latency_warning(str(dev / "by-id"), str(sysfs))
    assert "latency timer is 16 ms" in warning
    assert f"echo 1 | sudo tee {sysfs}/ttyUSB0/latency_timer" in warning
    (sysfs / "ttyUSB0" / "latency_timer").write_text("1\n")
    assert latency_warning(str(dev / "ttyUSB0"), str(sysfs)) is None
    assert latency_warning("/dev/pts/0", str(sysfs)) is None  # not a USB adapter


def test_status_text() -> None:
    c = Counters()
    c.frames[EPB_INBOUND], c.frame_bytes[EPB_INBOUND] = 12, 1234
    c.frames[EPB_OUTBOUND], c.frame_bytes[EPB_OUTBOUND] = 10, 54321
    c.unframed_bytes = 3
    c.errors["frame"] = 2
    assert status_text(c, 3723) == (
        "meter→client 12 fr 1234 B | client→meter 10 fr 54.3 kB | unframed 3 B | errors 2 "
        "| 1:02:03")
    c.gaps = 1
    assert "gaps 1" in status_text(c, 0)


def test_ring_output(tmp_path: Path) -> None:
    base = str(tmp_path / "r.pcapng")
    out = PcapngOutput(base, ring=RingSpec(filesize=300, files=2))
    a = out.add_interface("/dev/a", "meter TXD")
    b = out.add_interface("/dev/b", "client TXD")
    for i in range(20):
        out.write((a, b)[i % 2], 1_700_000_000_000_000 + i, bytes([i]) * 40, EPB_INBOUND)
    out.close()
    assert len(out.files) > 3
    kept = sorted(tmp_path.iterdir())
    assert [str(p) for p in kept] == out.files[-2:]
    got = [p for f in kept for p in read_scapy(f)]
    assert [p.data[0] for p in got] == list(range(20 - len(got), 20))
    assert {p.ifname for p in read_scapy(kept[-1])} <= {"/dev/a", "/dev/b"}
    assert ring_name("x/out.pcapng", 7, 0).startswith("x/out_00007_")

    # time-based switching and -a files
    base = str(tmp_path / "t" / "t.pcapng")
    (tmp_path / "t").mkdir()
    out = PcapngOutput(base, ring=RingSpec(duration=10), stop_files=2)
    out.add_interface("/dev/a")
    out.tick(time.monotonic() + 5)
    assert len(out.files) == 1
    out.tick(time.monotonic() + 11)
    assert len(out.files) == 2 and not out.done
    out.tick(time.monotonic() + 22)
    assert out.done and len(out.files) == 2
    out.close()


def test_serial_errors_counted_and_commented(tmp_path: Path, monkeypatch) -> None:
    """Driver counters (framing, overrun) become counts and a comment on the next packet."""
    counts = {"frame": 0, "overrun": 0, "parity": 0, "brk": 0, "buf_overrun": 0}
    monkeypatch.setattr(serialport, "read_icount", lambda ser: dict(counts))
    monkeypatch.setattr(serialport, "ICOUNT_INTERVAL", 0.05)
    line = PtyLine(tmp_path / "tty")
    out_path = tmp_path / "e.pcapng"
    out = PcapngOutput(str(out_path))
    session = CaptureSession([LineSpec(str(line.path), "meter")], out, log=lambda m: None)
    session.open()
    runner = threading.Thread(target=session.run)
    runner.start()
    try:
        f = frames_session()
        time.sleep(0.2)
        line.write(f["resp1"])
        time.sleep(0.2)
        counts["frame"] += 2
        counts["overrun"] += 1
        time.sleep(0.3)
        line.write(f["alert"])
        time.sleep(0.2)
    finally:
        session.stop()
        runner.join(10)
        line.close()
    assert session.counters.errors["frame"] == 2 and session.counters.errors["overrun"] == 1
    pkts = read_scapy(out_path)
    assert [p.data for p in pkts] == [f["resp1"], f["alert"]]
    assert pkts[0].comments == []
    assert pkts[1].comments == [
        "mep-capture: serial errors on this line before this packet: 2 framing, 1 overrun"]


def test_ring_files_each_carry_the_tls_secrets_written_so_far(tmp_path: Path) -> None:
    out = PcapngOutput(str(tmp_path / "s.pcapng"), ring=RingSpec(filesize=300))
    a = out.add_interface("/dev/a", "meter TXD")
    out.write_secrets("CLIENT_RANDOM 00 11\n")
    for i in range(12):
        out.write(a, 1_700_000_000_000_000 + i, bytes([i]) * 40, EPB_INBOUND)
    out.close()
    assert len(out.files) > 2
    for name in out.files:  # a session may go on in any later file
        info = subprocess.run(["capinfos", name], capture_output=True, text=True, check=True)
        assert "Number of decryption secrets in file: 1" in info.stdout
