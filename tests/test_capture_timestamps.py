"""mep-capture's timestamp rule, read by read: line pace back from the read, bounded by what the
reader saw.  The session is real; the reads are given as the reader thread reports them, with
monotonic times chosen by the test (the session's clock starts at 0)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_capture_support import frames_session

from mepshark.capture import session as session_module
from mepshark.capture.ring import PcapngOutput
from mepshark.capture.serialport import DATA, NEVER, LineSpec
from mepshark.capture.session import CaptureSession

BT = 10 / 9600


def make_session(tmp_path: Path, hold: float = 0.0) -> CaptureSession:
    s = CaptureSession([LineSpec("loop://", "meter")], PcapngOutput(str(tmp_path / "t.pcapng")),
                       log=lambda m: None)
    s.declare_interfaces()
    s.mono0 = 0.0
    s.lines[0].hold = hold
    return s


def stamps(s: CaptureSession, reads: list[tuple[bytes, float, float]]) -> list[tuple[bytes, float]]:
    """Feed (data, t_read, seen_empty) reads; the frames that come out, with their times."""
    out: list = []
    for data, t, seen in reads:
        s._event((DATA, 0, data, t, seen), out)
    s._collect(s.lines[0], s.lines[0].deframer.close(), out)
    return [(c.data, c.time) for _t, _n, _line, c, _comments in out]


def test_bytes_at_line_pace_are_dated_back_from_the_read(tmp_path: Path) -> None:
    """Reads that found bytes waiting (no wait, nothing new seen): n byte times back."""
    f = frames_session()
    resp = f["resp1"]
    s = make_session(tmp_path)
    reads, t = [], 1.0
    for i in range(0, len(resp), 8):  # 8 bytes per read, each read as its last byte ends
        piece = resp[i : i + 8]
        t += len(piece) * BT
        reads.append((piece, t, NEVER))
    ((data, time),) = stamps(s, reads)
    assert data == resp and math.isclose(time, 1.0, abs_tol=1e-9)


def test_a_burst_after_a_wait_is_not_dated_before_the_wait_ended(tmp_path: Path) -> None:
    """117 bytes in one read, right after the reader was woken: not 122 ms earlier, one byte."""
    resp = frames_session()["resp1"]  # 70 bytes
    s = make_session(tmp_path)
    ((data, time),) = stamps(s, [(resp, 2.0002, 2.0001)])
    assert data == resp
    assert math.isclose(time, 2.0001 - BT, abs_tol=1e-9)  # line pace would say 2.0002 - 70 BT


def test_a_usb_adapter_may_have_held_the_bytes_for_its_latency_timer(tmp_path: Path) -> None:
    """With a 16 ms latency timer, a burst may be dated back up to 16 ms more (line pace first)."""
    resp = frames_session()["resp1"]
    s = make_session(tmp_path, hold=0.016)
    ((_, time),) = stamps(s, [(resp, 2.0002, 2.0001)])
    assert math.isclose(time, 2.0001 - BT - 0.016, abs_tol=1e-9)
    short = frames_session()["alert"]
    s = make_session(tmp_path, hold=0.016)
    ((_, time),) = stamps(s, [(short, 3.0, 2.9999)])
    assert math.isclose(time, 3.0 - 2 * BT, abs_tol=1e-9)  # two bytes: line pace is the bound


def test_latency_timer_of_the_port_sets_the_hold(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(session_module, "latency_timer_ms", lambda port: 16)
    assert make_session(tmp_path, hold=0.016).lines[0].hold == 0.016
    s = CaptureSession([LineSpec("/dev/ttyUSB7", "meter")],
                       PcapngOutput(str(tmp_path / "u.pcapng")), log=lambda m: None)
    s.declare_interfaces()
    assert s.lines[0].hold == pytest.approx(0.016)


def test_a_burst_read_byte_by_byte_is_not_stretched_over_later_frames(tmp_path: Path) -> None:
    """socket:// hands a burst over one byte per read: the bytes stay where they were read.

    Before, each read began where the previous one "ended" at line pace, so a
    349-byte burst read in 349 quick reads claimed 363 ms, and the next frame,
    read 100 ms later, was pushed behind it (its response dated after the
    request that followed it).
    """
    f = frames_session()
    first, second = f["resp1"] * 5, f["resp2"]
    s = make_session(tmp_path)
    reads = [(bytes([b]), 5.0 + i * 1e-5, 5.0 - 1e-5 if i == 0 else NEVER)
             for i, b in enumerate(first)]
    reads.append((second, 5.1 + 1e-4, 5.1))
    got = stamps(s, reads)
    assert [d for d, _ in got] == [f["resp1"]] * 5 + [second]
    times = [t for _, t in got]
    assert times == sorted(times)
    assert all(t <= 5.0 + len(first) * 1e-5 for t in times[:5])  # no later than they were read
    assert math.isclose(times[5], 5.1 - BT, abs_tol=1e-9)


@settings(deadline=None, max_examples=200)
@given(reads=st.lists(st.tuples(st.integers(1, 300), st.floats(0.0, 0.2), st.booleans()),
                      min_size=1, max_size=30),
       hold=st.sampled_from([0.0, 0.001, 0.016]))
def test_no_byte_is_dated_after_its_read_or_before_the_line_was_seen_empty(tmp_path_factory,
                                                                          reads, hold) -> None:
    """Whatever the reads: every frame starts after the line was last seen empty (less one byte
    time and the adapter's hold), no later than one byte time before the read that completed
    it, and frames of a line are in time order."""
    tmp = tmp_path_factory.mktemp("p")
    s = make_session(tmp, hold=hold)
    alert = b"\x00\x00"
    t, fed = 10.0, []
    for n, gap, waited in reads:
        t += gap
        seen = t - gap / 2 if waited else NEVER
        fed.append((alert * n, t, seen))
    out: list = []
    owner: list[int] = []
    for i, (data, t_read, seen) in enumerate(fed):
        before = len(out)
        s._event((DATA, 0, data, t_read, seen), out)
        owner += [i] * (len(out) - before)
    times = [item[3].time for item in out]
    assert len(times) == sum(n for n, _, _ in reads)
    assert times == sorted(times)
    for time, i in zip(times, owner, strict=True):
        _data, t_read, seen = fed[i]
        assert time <= t_read - BT + 1e-9
        assert time >= seen - BT - hold - 1e-9
