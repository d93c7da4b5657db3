"""The fast read path against scapy: generated frame decoders, the record reader, streaming.

``read_capture`` no longer dissects every frame with scapy: the decoders
generated in ``framedecode.py`` and the struct-based pcapng reader in
``records.py`` must give exactly what scapy gives, field for field and
problem for problem, on well-formed, malformed and random input, and the
streamed decode must be the same as the decode of the whole list.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from luadiff import write_records
from scapy.config import conf
from test_bad_input import block_lists
from traffic import MAK, MBK, session

from mepshark.dissector import builders as b
from mepshark.dissector.c1218frames import record_class
from mepshark.dissector.capture_format import EPB_OUTBOUND
from mepshark.dissector.context import FROM_METER, TO_METER, CaptureContext, decode
from mepshark.dissector.framedecode import DECODERS, FrameView, decode_frame, decode_record
from mepshark.dissector.frames import CLASSES, MEP, MEPPacket
from mepshark.dissector.link import read_capture
from mepshark.dissector.records import WHOLE_RECORD, Records
from mepshark.dissector.tables import table_label

FRAME_CLASSES = [c for c in CLASSES.values() if issubclass(c, MEP)]


def _scapy_frames(record: bytes) -> list[MEP]:
    frame, out = MEP(record), []
    while frame is not None:
        out.append(frame)
        frame = frame.next_frame
    return out


def _same(view: FrameView, pkt: MEP) -> None:
    assert view.cls is type(pkt)
    assert view.fields == pkt.fields
    assert view.problems == pkt.problems
    assert view.frame_bytes == pkt.frame_bytes
    assert view.info(table_label) == pkt.info(table_label)
    assert view.mysummary() == pkt.mysummary()


WELL_FORMED = st.sampled_from([
    bytes(b.partial_read(23, 0, 44)), bytes(b.full_read(0x34, 7)),
    bytes(b.full_write(2098, b"\x01\x02")), bytes(b.partial_write(7, 0, b"\x27\x08\x00")),
    bytes(b.read_ok(bytes(44))), bytes(b.write_ok()), bytes(b.error(0x03)),
    bytes(b.bad_sequence(0x1234)), b.ALERT,
    *(wire for _, _, wire in session(40, seed=3)),
])


@st.composite
def frames(draw) -> bytes:
    """A frame as sent, cut, extended, with bytes changed, or random bytes."""
    data = draw(st.one_of(WELL_FORMED, st.binary(max_size=40)))
    how = draw(st.sampled_from(["as is", "cut", "extend", "flip", "length"]))
    if how == "cut":
        data = data[:draw(st.integers(0, len(data)))]
    elif how == "extend":
        data += draw(st.binary(max_size=30))
    elif how == "flip" and data:
        k = draw(st.integers(0, len(data) - 1))
        data = data[:k] + bytes([draw(st.integers(0, 255))]) + data[k + 1:]
    elif how == "length" and len(data) >= 2:
        data = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big") + data[2:]
    return data


@given(st.lists(frames(), min_size=1, max_size=5))
@example([bytes(b.partial_read(23, 0, 44)), b"\xee"])  # a later frame that starts as C12.18 does
@example([bytes(b.write_ok()), b"\xee\x00"])
@example([b.ALERT, b"\x06"])
@settings(max_examples=600, deadline=None)
def test_a_record_decodes_as_scapy_dissects_it(pieces):
    """Frame classes, fields, problems and bytes of every frame of a record, and
    the scapy packet each view makes of its frame (``view.pkt``) is of the view's class."""
    record = b"".join(pieces)
    if not record:
        return  # an empty record is the context's case (shown as malformed)
    assume(record_class(record) is None)  # a C12.18 record: the context's C12.18 part
    views, pkts = decode_record(record), _scapy_frames(record)
    assert len(views) == len(pkts)
    for view, pkt in zip(views, pkts, strict=True):
        _same(view, pkt)
        _same(view, view.pkt)


@given(st.sampled_from(FRAME_CLASSES), frames())
@settings(max_examples=600, deadline=None)
def test_each_class_decodes_any_bytes_as_scapy_does(cls, data):
    """The context re-decodes frames with the class their request calls for."""
    if cls is MEP:  # a record starting like a C12.18 packet, ACK or NAK is no MEP frame
        assume(record_class(data) is None)
    _same(decode_frame(cls, data), cls(data))


def test_every_kind_without_tls_records_has_a_generated_decoder():
    left = sorted(c.__name__ for c, d in DECODERS.items() if d is None)
    assert left == ["MEPTLSRequest", "MEPTLSResponse"]
    assert not any(c.spec.family.startswith("tls") for c, d in DECODERS.items() if d)


def test_a_view_builds_its_scapy_packet_once_on_demand():
    view = decode_record(bytes(b.partial_read(23, 0, 44)))[0]
    assert view._pkt is None
    pkt = view.pkt
    assert view.pkt is pkt and isinstance(pkt, CLASSES["MEPPartialTableRead"])
    assert isinstance(pkt, MEPPacket) and pkt.table_id == 23


# --- records: the struct reader against scapy's -------------------------------------


class _Log(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _read(path, how):
    """What ``how`` reads, or the name of its exception, and every warning
    (none held back: scapy's log otherwise drops a warning repeated soon after)."""
    log, handler = logging.getLogger("scapy.runtime"), _Log()
    log.addHandler(handler)
    threshold, conf.warning_threshold = conf.warning_threshold, 0
    try:
        return how(path), handler.messages
    except Exception as exc:  # noqa: BLE001 - the refusal itself is compared
        return type(exc).__name__, handler.messages
    finally:
        conf.warning_threshold = threshold
        log.removeHandler(handler)


def _ours(path) -> list[tuple]:
    with Records(path) as records:
        return list(records)


def _scapys(path) -> list[tuple]:
    """What scapy's raw reader gives, with time as scapy's packets have it
    (none for a simple packet block: 0.0 here)."""
    from scapy.utils import RawPcapReader

    out = []
    with RawPcapReader(str(path)) as r:
        while True:
            try:
                data, m = r._read_packet(size=WHOLE_RECORD)
            except EOFError:
                return out
            except Exception as exc:  # noqa: BLE001 - a later damaged section
                if type(exc).__name__ != "Scapy_Exception":
                    raise
                logging.getLogger("scapy.runtime").warning(str(exc))
                return out
            if hasattr(m, "tshigh"):
                t = 0.0 if m.tshigh is None else float(
                    Decimal((m.tshigh << 32) + m.tslow) / m.tsresol)
                out.append((data, t, m.direction, m.comments))
            else:
                per = Decimal(10) ** (-9 if r.nano else -6)
                out.append((data, float(m.sec + per * m.usec), None, None))


@given(block_lists())
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_records_are_read_as_scapy_reads_them(tmp_path_factory, made):
    """Every block kind, odd interfaces, resolutions and timestamps, damage
    anywhere: the same records, times, flags, comments, refusals and warnings."""
    data, _ = made
    path = tmp_path_factory.mktemp("records") / "f.pcapng"
    path.write_bytes(data)
    assert _read(path, _ours) == _read(path, _scapys)


def test_classic_pcap_records(tmp_path):
    from scapy.utils import PcapWriter

    path = tmp_path / "c.pcap"
    with PcapWriter(str(path), linktype=147, nano=True) as w:
        for k, wire in enumerate([bytes(b.full_read(0x34, 7)), b.ALERT]):
            pkt = MEP(wire)
            pkt.time = Decimal("1700000000.123456789") + k
            w.write(pkt)
    assert _read(path, _ours) == _read(path, _scapys) != ([], [])
    assert [f.kind for f in read_capture(path)] == ["request", "alert"]


# --- streaming ------------------------------------------------------------------------


def _snapshot(fi) -> tuple:
    return (fi.number, fi.index, fi.time, fi.summary(), fi.problems, fi.expert, fi.kind,
            fi.direction, fi.digest_status, fi.key, fi.request_in, fi.response_in,
            fi.retransmission_of, fi.retried, fi.no_response, fi.table_id, fi.offset,
            fi.count, fi.encrypted, type(fi.packet).__name__,
            None if fi.packet is None else fi.packet.fields,
            None if fi.table is None else [(d.slot.path, d.text) for d in fi.table.fields])


def test_streaming_gives_the_frames_of_the_whole_list(tmp_path):
    """Retries, lost responses, 0x0C resends, alerts, both keys, encryption: each
    frame is yielded once it is final, the same as when all are kept."""
    recs = [(t, TO_METER if d == EPB_OUTBOUND else FROM_METER, wire)
            for t, d, wire in session(3000, 7)]
    recs.insert(5, (recs[4][0] + 0.01, FROM_METER, b.ALERT * 3))  # a record of three frames
    frames_in_all = len(recs) + 2
    pcap = write_records(tmp_path / "s.pcapng", recs)
    for keys in ([], [MAK, MBK]):
        capture = read_capture(pcap, keys)
        streamed = [_snapshot(fi) for fi in capture]
        assert capture._list is None  # iterating kept nothing
        kept = read_capture(pcap, keys)
        assert len(kept) == len(streamed) == frames_in_all
        assert [_snapshot(fi) for fi in kept] == streamed
        assert kept == list(kept) and kept[frames_in_all - 1] is kept.frames()[-1]


def test_a_streaming_context_holds_only_the_frames_since_the_latest_request():
    ctx = CaptureContext([MAK], keep=False)
    yielded, most = 0, 0
    recs = list(session(2000, 11))
    for t, d, wire in recs:
        ctx.add_record(wire, t, TO_METER if d == EPB_OUTBOUND else FROM_METER)
        yielded += len(ctx.take_ready())
        most = max(most, len(ctx._held))
    ctx.finish()
    yielded += len(ctx.take_ready())
    assert ctx.frames == [] and yielded == len(recs)
    assert 1 <= most <= 4  # a request, its resend, their answers


def test_decode_of_scapy_packets_still_works():
    """CaptureContext.add_packet takes scapy packets as before (tests and scripts)."""
    req = MEP(bytes(b.full_read(0x34, 7)))
    req.time, req.direction = 1.0, 2
    infos = decode([req], [MAK])
    assert [i.kind for i in infos] == ["request"] and infos[0].no_response
