"""pcapng files written by :class:`PcapngWriter`, read back by real readers.

The capture side writes pcapng by hand (capture/pcapng.py) rather than with
scapy, because a serial capture needs named and described interfaces, a
timestamp resolution and per-packet direction flags.  A hand-made format is
only right if the programs people open captures with agree, so every check
here goes through scapy, tshark, capinfos or pyshark; nothing is mocked.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from scapy.utils import PcapNgReader, PcapNgWriter, PcapReader, rdpcap

from mepshark.capture.pcapng import PcapngWriter
from mepshark.dissector.capture_format import DLT_USER0, EPB_INBOUND, EPB_OUTBOUND, check_dlt
from mepshark.dissector.examples import EXAMPLES
from mepshark.dissector.frames import MEP, MEPAlert, MEPPartialTableRead
from mepshark.dissector.link import register_dlt

ROOT = Path(__file__).resolve().parents[1]
SPEC_PCAP = ROOT / "pcaps" / "spec-examples.pcapng"

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
needs_capinfos = pytest.mark.skipif(
    shutil.which("capinfos") is None, reason="capinfos not installed"
)

IFACES = {
    "client": "client module TXD: requests",
    "meter": "meter TXD: responses",
}
T0 = 1_700_000_000.123456


@dataclass(frozen=True)
class Rec:
    """One packet as handed to the writer, i.e. what every reader must give back."""

    iface: str
    time: float
    data: bytes
    direction: int
    comments: tuple[str, ...] = ()


# Frames of odd and even lengths (so EPB padding varies), an alert, no
# comment / one / two comments, a non-ASCII comment, sub-millisecond times.
RECORDS = [
    Rec("client", T0, EXAMPLES[6].wire, EPB_OUTBOUND, ("first read, stale sequence",)),
    Rec("meter", T0 + 0.045001, EXAMPLES[7].wire, EPB_INBOUND),
    Rec("client", T0 + 0.300017, EXAMPLES[8].wire, EPB_OUTBOUND, ("retry", "second comment")),
    Rec("meter", T0 + 0.345999, EXAMPLES[9].wire, EPB_INBOUND, ("Zähler → Client",)),
    Rec("meter", T0 + 1.000001, b"\x00\x00", EPB_INBOUND, ("alert",)),
    Rec("client", T0 + 1.5, EXAMPLES[10].wire, EPB_OUTBOUND),
    Rec("meter", T0 + 1.545678, EXAMPLES[11].wire, EPB_INBOUND),
]


def write_records(path: Path, dlt: int = DLT_USER0, records: list[Rec] = RECORDS) -> None:
    with open(path, "wb") as f, PcapngWriter(f, dlt=dlt) as w:
        ifids = {name: w.add_interface(name, desc) for name, desc in IFACES.items()}
        for r in records:
            w.write(ifids[r.iface], r.time, r.data, r.direction, list(r.comments))
        assert w.packets == len(records)


def file_usec(t: float) -> Decimal:
    """The timestamp as the file stores it: whole microseconds."""
    return Decimal(round(t * 1_000_000)) / 1_000_000


def run_tshark(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tshark", *args], capture_output=True, text=True, timeout=60)


def real_errors(stderr: str) -> list[str]:
    """tshark's stderr without the warning it always prints when run as root."""
    return [ln for ln in stderr.splitlines() if ln.strip() and "Running as user" not in ln]


@pytest.fixture(params=[DLT_USER0, 150], ids=lambda d: f"dlt{d}")
def capture(request, tmp_path):
    """The RECORDS written with a user DLT; scapy's DLT table is put back afterwards."""
    dlt = request.param
    path = tmp_path / f"mep-{dlt}.pcapng"
    write_records(path, dlt)
    yield path, dlt
    register_dlt(DLT_USER0)  # register_dlt(150) made 150 scapy's DLT for writing MEP


# --- scapy ----------------------------------------------------------------


def test_scapy_reads_packets_times_directions_interfaces_comments(capture):
    """rdpcap must give back MEP frames with every piece of EPB/IDB metadata."""
    path, dlt = capture
    register_dlt(dlt)
    pkts = rdpcap(str(path))
    assert len(pkts) == len(RECORDS)
    for pkt, rec in zip(pkts, RECORDS, strict=True):
        assert isinstance(pkt, MEP)
        assert bytes(pkt) == rec.data
        assert abs(float(pkt.time) - rec.time) < 1e-6
        assert pkt.time == file_usec(rec.time)
        assert pkt.direction == rec.direction
        assert pkt.sniffed_on == rec.iface
        assert (pkt.comments or []) == [c.encode() for c in rec.comments]
    assert isinstance(pkts[0], MEPPartialTableRead)
    assert isinstance(pkts[4], MEPAlert)


def test_scapy_sees_link_type_and_resolution_per_interface(capture):
    """Each IDB carries the chosen DLT, its name and a microsecond tsresol."""
    path, dlt = capture
    with PcapNgReader(str(path)) as reader:
        list(reader)  # IDBs are parsed as they are met
        interfaces = reader.interfaces
    assert [(i[0], i[2]["name"], i[2]["tsresol"]) for i in interfaces] == [
        (dlt, b"client", 10**6),
        (dlt, b"meter", 10**6),
    ]


# --- tshark / capinfos ------------------------------------------------------


@needs_tshark
def test_tshark_fields(capture):
    """tshark sees names, descriptions, direction, comments, exact times and lengths."""
    path, _dlt = capture
    fields = ["interface_name", "interface_description", "p2p_dir", "comment"]
    fields += ["time_epoch", "len"]
    args = ["-r", str(path), "-T", "fields", "-E", "separator=/t"]
    for f in fields:
        args += ["-e", f"frame.{f}"]
    res = run_tshark(*args)
    assert res.returncode == 0, res.stderr
    assert real_errors(res.stderr) == []
    rows = [line.split("\t") for line in res.stdout.splitlines()]
    assert len(rows) == len(RECORDS)
    for row, rec in zip(rows, RECORDS, strict=True):
        name, desc, p2p, comment, epoch, length = row
        assert name == rec.iface
        assert desc == IFACES[rec.iface]
        # Wireshark's p2p_dir: 0 = sent (outbound, client->meter), 1 = received.
        assert p2p == {EPB_OUTBOUND: "0", EPB_INBOUND: "1"}[rec.direction]
        assert comment == ",".join(rec.comments)
        assert Decimal(epoch) == file_usec(rec.time)
        assert int(length) == len(rec.data)


@needs_capinfos
def test_capinfos_link_type(capture):
    """capinfos names the encapsulation after the DLT: 147 is user0, 150 user3."""
    path, dlt = capture
    res = subprocess.run(
        ["capinfos", "-T", "-r", "-E", "-c", str(path)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    _name, encap, count = res.stdout.strip().split("\t")
    assert encap == f"user{dlt - DLT_USER0}"
    assert int(count) == len(RECORDS)


@needs_tshark
def test_nanosecond_resolution_with_integer_timestamps(tmp_path):
    """tsresol 9 and an int timestamp (in file units) keep every nanosecond."""
    path = tmp_path / "ns.pcapng"
    ns = 1_700_000_000_123_456_789
    with open(path, "wb") as f, PcapngWriter(f, tsresol_exp=9) as w:
        i = w.add_interface("meter")
        w.write(i, ns, b"\x00\x00", EPB_INBOUND)
    (pkt,) = rdpcap(str(path))
    assert pkt.time == Decimal(ns) / 10**9
    res = run_tshark("-r", str(path), "-T", "fields", "-e", "frame.time_epoch")
    assert res.stdout.strip() == "1700000000.123456789"


# --- pyshark ------------------------------------------------------------------


@needs_tshark
def test_pyshark_reads_count_lengths_and_interfaces(tmp_path):
    """pyshark (tshark's PDML underneath) sees every packet and its interface.

    There is no MEP plugin here, so only the frame layer is checked.  pyshark
    is slow: one small file.
    """
    pyshark = pytest.importorskip("pyshark")
    path = tmp_path / "small.pcapng"
    write_records(path)
    cap = pyshark.FileCapture(str(path), keep_packets=True)
    try:
        cap.load_packets(timeout=30)
        pkts = list(cap)
    finally:
        cap.close()
    assert len(pkts) == len(RECORDS)
    for pkt, rec in zip(pkts, RECORDS, strict=True):
        # pyshark takes the first PDML proto as frame_info: that is the
        # "pkt_comment" proto on commented packets, "frame" on the others.
        (frame,) = [ly for ly in (pkt.frame_info, *pkt.layers) if ly.layer_name == "frame"]
        assert int(pkt.length) == len(rec.data)
        assert int(frame.get_field("len")) == len(rec.data)
        assert frame.get_field("interface_name") == rec.iface
        assert frame.get_field("interface_description") == IFACES[rec.iface]


# --- a capture killed mid-write ---------------------------------------------------


def test_each_block_is_on_disk_as_soon_as_written(tmp_path):
    """The writer flushes per block: a reader of the open file sees every packet so far."""
    path = tmp_path / "live.pcapng"
    with open(path, "wb") as f, PcapngWriter(f) as w:
        ifids = {name: w.add_interface(name, desc) for name, desc in IFACES.items()}
        for n, rec in enumerate(RECORDS, 1):
            w.write(ifids[rec.iface], rec.time, rec.data, rec.direction, list(rec.comments))
            assert os.path.getsize(path) == f.tell()
            with PcapReader(str(path)) as reader:
                assert [bytes(p) for p in reader] == [r.data for r in RECORDS[:n]]


def _last_block_start(path: Path) -> int:
    """Offset of the last block, found by writing all but the last packet."""
    head = path.with_suffix(".head")
    write_records(head, records=RECORDS[:-1])
    return head.stat().st_size


@pytest.fixture
def cut_capture(request, tmp_path):
    """RECORDS cut at byte ``request.param`` of the last EPB (as by kill -9)."""
    full = tmp_path / "full.pcapng"
    write_records(full)
    data = full.read_bytes()
    start = _last_block_start(full)
    assert data[start : start + 4] == b"\x06\x00\x00\x00"  # EPB, little-endian
    cut = start + request.param if request.param >= 0 else len(data) + request.param
    assert start < cut < len(data)
    path = tmp_path / "cut.pcapng"
    path.write_bytes(data[:cut])
    return path


# Inside the type, the length, the EPB header, the packet data, the options,
# and one byte short of the trailing length.
CUTS = [1, 5, 13, 30, -12, -1]


@pytest.mark.parametrize("cut_capture", CUTS, indirect=True, ids=lambda c: f"cut{c}")
def test_scapy_reads_all_but_the_cut_packet(cut_capture):
    got = []
    try:
        with PcapReader(str(cut_capture)) as reader:
            for pkt in reader:
                got.append(pkt)
    except Exception:  # noqa: BLE001 - scapy may raise at the broken end; fine
        pass
    assert [bytes(p) for p in got] == [r.data for r in RECORDS[:-1]]
    assert [p.direction for p in got] == [r.direction for r in RECORDS[:-1]]


@needs_tshark
@pytest.mark.parametrize("cut_capture", CUTS, indirect=True, ids=lambda c: f"cut{c}")
def test_tshark_reads_all_but_the_cut_packet(cut_capture):
    res = run_tshark("-r", str(cut_capture), "-T", "fields", "-e", "frame.len")
    assert [int(x) for x in res.stdout.split()] == [len(r.data) for r in RECORDS[:-1]]
    assert "cut short" in res.stderr


# --- DLT range ----------------------------------------------------------------------


@pytest.mark.parametrize("dlt", range(147, 163))
def test_check_dlt_accepts_user_dlts(dlt):
    assert check_dlt(dlt) == dlt


@pytest.mark.parametrize("dlt", [146, 163, 0, 1, -1])
def test_check_dlt_rejects_others(dlt):
    with pytest.raises(ValueError, match="147..162"):
        check_dlt(dlt)


def test_writer_rejects_bad_dlt_before_writing():
    """A bad DLT must not leave a half-started file behind."""
    out = io.BytesIO()
    with pytest.raises(ValueError):
        PcapngWriter(out, dlt=146)
    assert out.getvalue() == b""


# --- the committed example capture ----------------------------------------------------


def test_spec_examples_pcap_is_up_to_date(tmp_path):
    """pcaps/spec-examples.pcapng is generated; it must match its generator."""
    out = tmp_path / "spec.pcapng"
    res = subprocess.run(
        [sys.executable, str(ROOT / "pcaps" / "make_spec_examples.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert out.read_bytes() == SPEC_PCAP.read_bytes(), (
        "pcaps/spec-examples.pcapng is stale: run `make examples`"
    )


# --- scapy's own writer -----------------------------------------------------------------


def _rewrite_with_scapy(src: Path, dst: Path) -> list:
    register_dlt(DLT_USER0)  # whatever DLT another test registered last
    pkts = rdpcap(str(src))
    writer = PcapNgWriter(str(dst))
    for pkt in pkts:
        writer.write(pkt)
    writer.close()
    return pkts


def test_scapy_pcapngwriter_keeps_bytes_and_metadata(tmp_path):
    """MEP packets read from our file survive scapy's PcapNgWriter.

    scapy truncates timestamps to whole microseconds (``int()``), so times
    may differ by one unit.
    """
    dst = tmp_path / "scapy.pcapng"
    src_pkts = _rewrite_with_scapy(SPEC_PCAP, dst)
    back = rdpcap(str(dst))
    assert len(back) == len(src_pkts) == len(EXAMPLES)
    for a, b in zip(src_pkts, back, strict=True):
        assert bytes(b) == bytes(a)
        assert b.direction == a.direction
        assert b.sniffed_on == a.sniffed_on
        assert b.comments == a.comments
        assert abs(float(b.time) - float(a.time)) <= 1.5e-6


def test_scapy_pcapngwriter_keeps_the_user_dlt(tmp_path):
    """A capture rewritten by scapy is still a MEP capture, not Ethernet.

    scapy's writers look up the link type by the packet's exact class
    (MEPTLSRequest, ...), falling back to Ethernet: register_dlt must map
    every frame class, not just MEP.
    """
    dst = tmp_path / "scapy.pcapng"
    _rewrite_with_scapy(SPEC_PCAP, dst)
    with PcapNgReader(str(dst)) as reader:
        back = list(reader)
        linktypes = {i[0] for i in reader.interfaces}
    assert linktypes == {DLT_USER0}
    assert all(isinstance(p, MEP) for p in back)
