"""Deframer: length-based framing, resync on bad lengths, silence timeouts, no byte lost."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mepshark.dissector.c1218link import packet_at
from mepshark.dissector.deframer import (
    ALERT,
    C1218,
    DEFAULT_SILENCE,
    FRAME,
    UNFRAMED,
    Chunk,
    Deframer,
    deframe,
)
from mepshark.dissector.frames import MAX_BODY

BYTE_TIME = 10 / 9600  # one 8N1 character at 9600 baud
SILENCE = DEFAULT_SILENCE
T0 = 1000.0  # a non-zero epoch, so that float rounding in timestamps is exercised

PROPERTY = settings(deadline=None, max_examples=250)


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(2, "big") + body


def close_enough(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=1e-9)


def spans(chunks: list[Chunk]) -> list[tuple[int, int]]:
    """(start, end) byte offsets of each chunk in the concatenated output."""
    out, pos = [], 0
    for c in chunks:
        out.append((pos, pos + len(c.data)))
        pos += len(c.data)
    return out


def check_general_invariants(chunks: list[Chunk], data: bytes, byte_times: list[float]) -> None:
    """What must hold for any input: lossless, well-formed chunks, correct first-byte times."""
    assert b"".join(c.data for c in chunks) == data
    for c, (start, _end) in zip(chunks, spans(chunks), strict=True):
        assert c.data, c
        assert close_enough(c.time, byte_times[start]), (c, byte_times[start])
        if c.kind == FRAME:
            length = int.from_bytes(c.data[:2], "big")
            assert 1 <= length <= MAX_BODY and len(c.data) == 2 + length, c
            assert c.reason == "" and c.is_frame
        elif c.kind == ALERT:
            assert c.data == b"\x00\x00" and c.reason == "" and c.is_frame
        elif c.kind == C1218:  # an ACK/NAK byte, or a whole CRC-valid C12.18 packet
            assert c.data in (b"\x06", b"\x15") or packet_at(c.data) == len(c.data), c
        else:
            assert c.kind == UNFRAMED and not c.is_frame
            assert c.reason, c


# --- generated streams ------------------------------------------------------

# Garbage that can never be read as a valid length, whatever follows it: every
# byte is >= 0x02 (so any header starting there is >= 0x0200 > 476), except a
# 0x01 that is always followed by a byte >= 0xDD (0x01DD = 477 > 476).  The
# last byte is therefore always >= 0x02 and cannot pair with the 0x00/0x01 of
# a following header either, so the frame after it is found exactly.
assert 0x01DD == MAX_BODY + 1
# Bytes that start a C12.18 item (0xEE, ACK 0x06, NAK 0x15: a shared UART) are
# no junk: tests/test_c1218.py covers them.
_C1218_FIRST = (0x06, 0x15, 0xEE)
_junk_atom = st.one_of(
    st.integers(0x02, 0xFF).filter(lambda b: b not in _C1218_FIRST).map(lambda b: bytes([b])),
    st.integers(0xDD, 0xFF).map(lambda b: bytes([0x01, b])),
)
junk_bytes = st.lists(_junk_atom, min_size=1, max_size=12).map(b"".join)
gaps = st.floats(SILENCE + 0.05, 1.0)  # clearly longer than the silence timeout


@dataclass
class Segment:
    kind: str  # "frame", "alert", "junk", "truncated", "noise"
    data: bytes
    gap_before: bool
    start: int = 0  # offset in the whole stream
    time: float = 0.0  # arrival time of the first byte


@dataclass
class Stream:
    segments: list[Segment]
    runs: list[tuple[float, bytes]]  # gap-free runs: (time of first byte, bytes)
    data: bytes
    byte_times: list[float]


@st.composite
def segment_lists(draw) -> list[Segment]:
    """Frames, alerts and garbage; truncated frames and arbitrary noise are fenced by gaps."""
    segs: list[Segment] = []
    need_gap = False  # the previous segment must be followed by silence
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["frame", "frame", "alert", "junk", "truncated", "noise"]))
        if kind == "frame":
            n = draw(st.integers(1, MAX_BODY))
            data = frame(draw(st.binary(min_size=n, max_size=n)))
        elif kind == "alert":
            data = b"\x00\x00"
        elif kind == "junk":
            data = draw(junk_bytes)
        elif kind == "truncated":
            length = draw(st.integers(1, MAX_BODY))
            have = draw(st.integers(1, length + 1))  # of length + 2 bytes
            body = draw(st.binary(min_size=max(0, have - 2), max_size=max(0, have - 2)))
            data = (length.to_bytes(2, "big") + body)[:have]
        else:  # arbitrary bytes: framing inside is not predicted, only fenced in
            data = draw(st.binary(min_size=1, max_size=40))
        gap = need_gap or kind == "noise" or draw(st.booleans())
        segs.append(Segment(kind, data, gap))
        need_gap = kind in ("truncated", "noise")
    return segs


@st.composite
def streams(draw) -> Stream:
    segs = draw(segment_lists())
    runs: list[tuple[float, bytearray]] = []
    byte_times: list[float] = []
    pos = 0
    for seg in segs:
        if not runs:
            runs.append((T0, bytearray()))
        elif seg.gap_before:
            last_start, last = runs[-1]
            last_time = last_start + (len(last) - 1) * BYTE_TIME if last else last_start
            runs.append((last_time + draw(gaps), bytearray()))
        run_start, run = runs[-1]
        seg.start = pos
        seg.time = run_start + len(run) * BYTE_TIME
        byte_times += [run_start + (len(run) + j) * BYTE_TIME for j in range(len(seg.data))]
        run += seg.data
        pos += len(seg.data)
    data = b"".join(s.data for s in segs)
    return Stream(segs, [(t, bytes(r)) for t, r in runs if r], data, byte_times)


def feed_runs_whole(stream: Stream) -> list[Chunk]:
    d = Deframer(silence=SILENCE, byte_time=BYTE_TIME)
    out: list[Chunk] = []
    for start, run in stream.runs:
        out += d.feed(run, start)
    out += d.close()
    assert d.pending == 0
    return out


def feed_runs_chunked(stream: Stream, draw) -> list[Chunk]:
    """Random cuts inside every run; sometimes poll() in the silence between runs."""
    d = Deframer(silence=SILENCE, byte_time=BYTE_TIME)
    out: list[Chunk] = []
    prev_end: float | None = None
    for start, run in stream.runs:
        if prev_end is not None and draw(st.booleans()):
            # Strictly between "silence has passed" and the next run's first byte.
            out += d.poll(prev_end + SILENCE + (start - prev_end - SILENCE) / 2)
        cuts = draw(st.lists(st.integers(1, max(1, len(run) - 1)), max_size=6))
        bounds = sorted({0, len(run), *(c for c in cuts if 0 < c < len(run))})
        for a, b in zip(bounds, bounds[1:], strict=False):
            t = start + a * BYTE_TIME
            out += d.feed(run[a:b], t)
            if draw(st.booleans()):
                # Polling right after a byte arrived must never give anything up.
                assert d.poll(start + (b - 1) * BYTE_TIME + SILENCE / 2) == []
        prev_end = start + (len(run) - 1) * BYTE_TIME
    out += d.close()
    assert d.pending == 0
    return out


def _comparable(chunks: list[Chunk]):
    # The measured silence in a reason ("then 230 ms of silence") legitimately
    # depends on whether feed() or poll() noticed it; the rest must not.
    return [(c.kind, c.data, c.reason.split(", then")[0]) for c in chunks]


@PROPERTY
@given(stream=streams(), data=st.data())
def test_generated_stream_is_deframed_exactly_and_independently_of_chunking(stream, data):
    """Chunking invariance, losslessness, and exact recovery of every unambiguous frame."""
    whole = feed_runs_whole(stream)
    chunked = feed_runs_chunked(stream, data.draw)

    # (a) chunk boundaries (and extra polls) do not change the result
    assert _comparable(chunked) == _comparable(whole)
    for c, w in zip(chunked, whole, strict=True):
        assert close_enough(c.time, w.time), (c, w)

    # (b) + (d) nothing lost or duplicated, unframed runs say why, times are right
    for out in (whole, chunked):
        check_general_invariants(out, stream.data, stream.byte_times)

    # (c) every generated frame/alert/truncated frame comes out exactly
    by_span = dict(zip(spans(whole), whole, strict=True))
    bounds = {b for span in by_span for b in span}
    segs = stream.segments
    for i, seg in enumerate(segs):
        span = (seg.start, seg.start + len(seg.data))
        if seg.kind in ("frame", "alert"):
            c = by_span.get(span)
            assert c is not None, (seg, whole)
            assert c.kind == (FRAME if seg.kind == "frame" else ALERT)
            assert c.data == seg.data and close_enough(c.time, seg.time)
        elif seg.kind == "truncated":
            c = by_span.get(span)
            assert c is not None and c.kind == UNFRAMED, (seg, whole)
            assert close_enough(c.time, seg.time)
            assert ("incomplete frame" if len(seg.data) >= 2 else "lone byte") in c.reason
        elif seg.kind == "noise":
            # Whatever happens inside, nothing straddles the silences around it.
            assert span[0] in bounds and span[1] in bounds, (seg, whole)
        elif seg.kind == "junk":
            if i == 0 or seg.gap_before or segs[i - 1].kind != "junk":
                # First junk segment of a run of adjacent ones: they come out together.
                j = i
                while (
                    j + 1 < len(segs) and segs[j + 1].kind == "junk" and not segs[j + 1].gap_before
                ):
                    j += 1
                end = segs[j].start + len(segs[j].data)
                inside = [c for (a, b), c in by_span.items() if span[0] <= a < end]
                assert span[0] in bounds and end in bounds, (seg, whole)
                assert all(c.kind == UNFRAMED for c in inside), inside
                after = segs[j + 1] if j + 1 < len(segs) else None
                if after is not None and not after.gap_before:
                    # Set aside at once and handed out before the next frame starts.
                    assert len(inside) == 1 and close_enough(inside[0].time, seg.time)
                    assert "start no frame" in inside[0].reason


# --- arbitrary input ----------------------------------------------------------


def reference_deframe(data: bytes) -> list[tuple[str, bytes]]:
    """Straightforward model of the framing rule for one gap-free stream then close()."""
    out: list[tuple[str, bytes]] = []
    junk = bytearray()

    def flush():
        if junk:
            out.append((UNFRAMED, bytes(junk)))
            junk.clear()

    i = 0
    while i < len(data):
        if data[i] in (0x06, 0x15):  # ACK/NAK of a C12.18 session sharing the UART
            flush()
            out.append((C1218, data[i : i + 1]))
            i += 1
            continue
        if data[i] == 0xEE and packet_at(data, i):  # a whole CRC-valid C12.18 packet
            flush()
            out.append((C1218, data[i : i + packet_at(data, i)]))
            i += packet_at(data, i)
            continue
        if data[i] > MAX_BODY >> 8:  # no length of at most 476 starts with this byte
            junk.append(data[i])
            i += 1
            continue
        if i + 2 > len(data):
            break
        length = int.from_bytes(data[i : i + 2], "big")
        if length > MAX_BODY:
            junk.append(data[i])
            i += 1
        elif i + 2 + length <= len(data):
            flush()
            out.append((ALERT if length == 0 else FRAME, data[i : i + 2 + length]))
            i += 2 + length
        else:
            break
    flush()
    if i < len(data):
        out.append((UNFRAMED, data[i:]))
    return out


# Bytes biased towards 0x00/0x01 so that short valid headers are common.
wire_bytes = st.lists(st.one_of(st.integers(0, 1), st.integers(0, 255)), max_size=2000).map(bytes)


@PROPERTY
@given(data=st.one_of(st.binary(max_size=2000), wire_bytes), draw=st.data())
def test_random_bytes_in_random_pieces_never_raise_and_lose_nothing(data, draw):
    """Any bytes, cut anywhere, with random pauses (some longer than the silence): lossless."""
    d = Deframer(silence=SILENCE, byte_time=BYTE_TIME)
    out: list[Chunk] = []
    byte_times: list[float] = []
    t = T0
    pos = 0
    while pos < len(data):
        n = draw.draw(st.integers(1, len(data) - pos))
        piece = data[pos : pos + n]
        byte_times += [t + j * BYTE_TIME for j in range(n)]
        out += d.feed(piece, t)
        if draw.draw(st.booleans()):
            out += d.poll(t + draw.draw(st.floats(0.0, 3 * SILENCE)))
        t += (n - 1) * BYTE_TIME + draw.draw(st.sampled_from([BYTE_TIME, 0.025, 0.05, 0.3]))
        pos += n
    out += d.close()
    assert d.pending == 0
    check_general_invariants(out, data, byte_times)


@PROPERTY
@given(data=st.one_of(st.binary(max_size=2000), wire_bytes))
def test_one_gap_free_stream_matches_the_reference_rule(data):
    """Without silences, the output is exactly the length-field rule of the docstring."""
    got = deframe(data, T0, byte_time=BYTE_TIME)
    assert [(c.kind, c.data) for c in got] == reference_deframe(data)
    check_general_invariants(got, data, [T0 + j * BYTE_TIME for j in range(len(data))])


# --- silence handling ---------------------------------------------------------


def feed_segments(d: Deframer, wire: bytes, size: int, pause: float, t: float = T0):
    """Deliver ``wire`` in ``size``-byte segments with ``pause`` between them."""
    out: list[Chunk] = []
    for a in range(0, len(wire), size):
        seg = wire[a : a + size]
        out += d.feed(seg, t)
        t += (len(seg) - 1) * d.byte_time + d.byte_time + pause
    return out


def test_long_response_in_117_byte_segments_with_25ms_pauses_is_one_frame():
    """The meter's 25 ms pause after each 117-byte segment does not cut a frame."""
    wire = frame(bytes(range(256)) + bytes(44))  # 300-byte body, 302 bytes on the wire
    d = Deframer(byte_time=BYTE_TIME)
    assert d.silence == DEFAULT_SILENCE
    out = feed_segments(d, wire, 117, 0.025) + d.close()
    assert out == [Chunk(FRAME, wire, T0)]


def test_long_response_is_cut_if_silence_were_shorter_than_the_pause():
    """Contrast: with a 20 ms timeout, the same delivery would be abandoned."""
    wire = frame(b"\xaa" * 300)
    d = Deframer(silence=0.020, byte_time=BYTE_TIME)
    out = feed_segments(d, wire, 117, 0.025) + d.close()
    assert FRAME not in [c.kind for c in out]
    assert out[0] == Chunk(UNFRAMED, wire[:117], T0, out[0].reason)
    assert "incomplete frame: 117 of 302 bytes" in out[0].reason
    assert b"".join(c.data for c in out) == wire


def test_truncated_frame_then_silence_then_valid_frame():
    """A frame cut short is given up after the silence; the next frame is intact."""
    truncated = (20).to_bytes(2, "big") + bytes(range(10))
    good = frame(b"\x20\x01\x02")
    d = Deframer(byte_time=BYTE_TIME)
    out = d.feed(truncated, T0)
    assert out == [] and d.pending == 12
    t1 = T0 + 11 * BYTE_TIME + DEFAULT_SILENCE + 0.05
    out += d.feed(good, t1)
    assert [(c.kind, c.data) for c in out] == [(UNFRAMED, truncated), (FRAME, good)]
    assert "incomplete" in out[0].reason and "12 of 22 bytes" in out[0].reason
    assert out[0].time == T0 and close_enough(out[1].time, t1)
    assert d.close() == []


def test_poll_gives_up_a_partial_frame_only_after_the_silence():
    """poll(now) returns nothing until ``silence`` after the last byte, then the partial frame."""
    d = Deframer(silence=0.1, byte_time=BYTE_TIME)
    assert d.poll(T0) == []  # nothing fed yet
    partial = frame(bytes(50))[:30]
    assert d.feed(partial, T0) == []
    last = T0 + 29 * BYTE_TIME
    for now in (T0, last, last + 0.05, last + 0.099):
        assert d.poll(now) == [], now
        assert d.pending == 30
    out = d.poll(last + 0.101)
    assert len(out) == 1
    assert out[0].kind == UNFRAMED and out[0].data == partial and out[0].time == T0
    assert "incomplete frame: 30 of 52 bytes" in out[0].reason
    assert d.pending == 0
    assert d.poll(last + 5) == [] and d.close() == []
    # The line is usable again afterwards.
    good = frame(b"\x01")
    assert d.feed(good, last + 6) == [Chunk(FRAME, good, last + 6)]


def test_poll_flushes_set_aside_junk_after_silence():
    """Junk held back (waiting for a frame to follow) is released by silence, as one run."""
    d = Deframer(silence=0.1)
    assert d.feed(b"\xff\xfe", 0.0) == []
    assert d.poll(0.05) == []
    out = d.poll(0.2)
    assert [(c.kind, c.data) for c in out] == [(UNFRAMED, b"\xff\xfe")]
    assert out[0].reason.startswith("2 byte(s) that start no frame")


@PROPERTY
@given(junk=junk_bytes, frame_after=st.booleans(), draw=st.data())
def test_garbage_burst_is_one_unframed_run(junk, frame_after, draw):
    """Bytes that start no frame, however they are read, come out as a single unframed run.

    A byte above 0x01 is set aside at once: it never waits as a lone "length
    byte" to be split off from the run by the silence that follows a burst.
    """
    good = frame(b"\x20\x00\x01")
    wire = junk + (good if frame_after else b"")
    d = Deframer(silence=SILENCE, byte_time=BYTE_TIME)
    cuts = draw.draw(st.lists(st.integers(1, len(wire) - 1), max_size=5)) if len(wire) > 1 else []
    bounds = sorted({0, len(wire), *cuts})
    out = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        out += d.feed(wire[a:b], T0 + a * BYTE_TIME)
    assert d.pending == (0 if frame_after else len(junk))
    out += d.poll(T0 + len(wire) * BYTE_TIME + SILENCE * 2)
    assert d.pending == 0
    assert [(c.kind, c.data) for c in out[:1]] == [(UNFRAMED, junk)]
    assert out[0].time == T0 and out[0].reason.startswith(f"{len(junk)} byte(s) that start no")
    assert [(c.kind, c.data) for c in out[1:]] == ([(FRAME, good)] if frame_after else [])


def test_high_byte_is_set_aside_without_waiting_for_the_next():
    """0x02..0xFF cannot begin a length of 476 or less, so it is not held as a header byte."""
    d = Deframer(silence=0.1)
    assert d.feed(b"\x13", 0.0) == [] and d.pending == 1
    out = d.poll(0.2)
    assert [(c.kind, c.data) for c in out] == [(UNFRAMED, b"\x13")]
    assert "1 byte(s) that start no frame (first: length 0x13xx out of range)" in out[0].reason
    # 0x00 and 0x01 can begin a length: held back as a possible header.
    d.feed(b"\x01", 1.0)
    assert "lone byte" in d.poll(1.2)[0].reason


# --- timing of a read: line pace back from its end, bounded below -----------------


@PROPERTY
@given(data=st.one_of(st.binary(min_size=1, max_size=600), wire_bytes.filter(bool)),
       squeeze=st.floats(0.0, 1.0))
def test_bytes_of_a_read_end_at_its_end_and_start_no_earlier_than_its_first(data, squeeze):
    """feed(data, first, end): byte i starts at max(first, end - (n - i) * byte_time).

    At line pace (first = end - n * byte_time) that is one byte time apiece; a
    burst that came faster is squeezed into [first, end] and never runs past
    the read that delivered it.
    """
    n = len(data)
    end = T0 + 5.0
    first = end - n * BYTE_TIME * squeeze  # squeeze 1: line pace, 0: all bytes at once
    first = min(first, end - BYTE_TIME)
    expect = [max(first, end - (n - i) * BYTE_TIME) for i in range(n)]
    d = Deframer(silence=SILENCE, byte_time=BYTE_TIME)
    out = d.feed(data, first, end) + d.close()
    check_general_invariants(out, data, expect)
    assert all(first <= c.time <= end - BYTE_TIME for c in out)
    assert [c.time for c in out] == sorted(c.time for c in out)
    if squeeze == 1.0 and first == end - n * BYTE_TIME:
        line_pace = Deframer(silence=SILENCE, byte_time=BYTE_TIME)
        paced = line_pace.feed(data, first) + line_pace.close()
        assert [(c.kind, c.data) for c in paced] == [(c.kind, c.data) for c in out]
        assert all(close_enough(a.time, b.time) for a, b in zip(paced, out, strict=True))


def test_lone_first_header_byte_then_silence():
    """A single byte followed by silence is unframed, not glued to what comes next."""
    d = Deframer(silence=0.1)
    out = d.feed(b"\x00", 0.0) + d.feed(b"\x00\x00", 0.5) + d.close()
    assert [(c.kind, c.data) for c in out] == [(UNFRAMED, b"\x00"), (ALERT, b"\x00\x00")]
    assert "lone byte" in out[0].reason


# --- resync ---------------------------------------------------------------------


def test_garbage_then_frame_in_one_feed_resyncs():
    """Bytes that start no frame come out as one unframed run, then the frame."""
    good = frame(b"\x20\x00\x01")
    d = Deframer(byte_time=BYTE_TIME)
    out = d.feed(b"\xff\xfe\xfd" + good, T0)
    assert [(c.kind, c.data) for c in out] == [(UNFRAMED, b"\xff\xfe\xfd"), (FRAME, good)]
    assert out[0].time == T0 and close_enough(out[1].time, T0 + 3 * BYTE_TIME)
    assert "3 byte(s) that start no frame" in out[0].reason
    assert "(first: length 0xFFxx out of range)" in out[0].reason
    assert d.pending == 0


def test_garbage_and_frame_split_across_feeds_resyncs_the_same():
    """The same resync when every byte arrives in its own feed call."""
    wire = b"\xff\xfe\xfd" + frame(b"\x20\x00\x01")
    d = Deframer(byte_time=BYTE_TIME)
    out = []
    for i, b in enumerate(wire):
        out += d.feed(bytes([b]), T0 + i * BYTE_TIME)
    assert [(c.kind, c.data) for c in out] == [(UNFRAMED, wire[:3]), (FRAME, wire[3:])]
    assert close_enough(out[1].time, T0 + 3 * BYTE_TIME)


def test_max_body_boundary():
    """Length 476 starts a frame; 477 does not (its first byte is set aside)."""
    biggest = frame(bytes(MAX_BODY))
    assert [(c.kind, c.data) for c in deframe(biggest)] == [(FRAME, biggest)]
    too_big = (MAX_BODY + 1).to_bytes(2, "big") + bytes(MAX_BODY)
    out = deframe(too_big)
    # 0x01DD, then 0xDD00: two bytes set aside before the zeros read as alerts.
    assert out[0].kind == UNFRAMED and out[0].data == b"\x01\xdd"
    assert "(first: length 0x01DD out of range)" in out[0].reason
    assert {c.kind for c in out[1:]} == {ALERT}
    assert b"".join(c.data for c in out) == too_big


# --- alerts ---------------------------------------------------------------------


def test_alert_alone():
    """0x0000 is a complete 2-byte alert."""
    assert deframe(b"\x00\x00", 5.0) == [Chunk(ALERT, b"\x00\x00", 5.0)]


def test_alerts_between_frames_keep_order():
    """Alerts and frames come out in wire order, each with its own bytes."""
    a, b = frame(b"\x30\x00\x01\x02"), frame(b"\x00")
    wire = b"\x00\x00" + a + b"\x00\x00" + b + b"\x00\x00\x00\x00"
    out = deframe(wire)
    assert [(c.kind, c.data) for c in out] == [
        (ALERT, b"\x00\x00"),
        (FRAME, a),
        (ALERT, b"\x00\x00"),
        (FRAME, b),
        (ALERT, b"\x00\x00"),
        (ALERT, b"\x00\x00"),
    ]


# --- construction -----------------------------------------------------------------


@pytest.mark.parametrize("silence", [0, 0.0, -0.001, -1])
def test_non_positive_silence_is_rejected(silence):
    """A silence timeout must be positive."""
    with pytest.raises(ValueError):
        Deframer(silence=silence)


# Bytes rich in C12.18 starts (0xEE) and ACK/NAK (0x06, 0x15) between MEP-looking ones.
shared_line_bytes = st.lists(st.one_of(st.sampled_from([0x00, 0x01, 0xEE, 0x06, 0x15]),
                                       st.integers(0, 255)), max_size=1500).map(bytes)


@PROPERTY
@given(data=shared_line_bytes, draw=st.data())
def test_failed_c1218_candidates_keep_their_bytes_arrival_times(data, draw):
    """Bytes read in bursts (squeezed into each read): a 0xEE whose packet fails its CRC
    gives its bytes back with the times they arrived at, so every chunk starts at its first
    byte's time and the chunks' times follow the line's order (a capture writes them by
    time: a byte read again with a made-up later time would be moved past later bytes)."""
    d = Deframer(silence=SILENCE, byte_time=BYTE_TIME)
    out: list[Chunk] = []
    byte_times: list[float] = []
    t, pos = T0, 0
    while pos < len(data):
        n = draw.draw(st.integers(1, len(data) - pos))
        end = t + n * BYTE_TIME * draw.draw(st.sampled_from([0.0, 0.3, 1.0])) + BYTE_TIME
        byte_times += [max(t, end - (n - i) * BYTE_TIME) for i in range(n)]
        out += d.feed(data[pos : pos + n], t, end)
        t, pos = end + draw.draw(st.sampled_from([0.0, BYTE_TIME, 0.02])), pos + n
    out += d.close()
    check_general_invariants(out, data, byte_times)
    assert [c.time for c in out] == sorted(c.time for c in out)
