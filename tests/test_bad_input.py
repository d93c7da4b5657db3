"""Bad input through every entry point: scapy's read path (``read_capture``),
``mep-dissector decode`` (with and without -V and keys) and tshark with the
plugin.  Whatever the file holds, each decodes what it can, flags the rest
and never crashes: no traceback, no "Lua Error".

The whole files are made here block by block (not with the project's
writer), so that they can hold what no well-behaved writer writes: odd link
types and timestamp resolutions, timestamps up to 2^64 - 1, comments that are
not UTF-8, unknown blocks, undeclared interfaces, truncated blocks.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from luadiff import LUA, key_prefs, readable, tshark_command, tshark_env, write_records
from traffic import MAK, MBK

from mepshark.dissector import builders as b
from mepshark.dissector import cli
from mepshark.dissector.capture_format import UNFRAMED_COMMENT
from mepshark.dissector.context import FROM_METER, TO_METER
from mepshark.dissector.link import read_capture

CLI = Path(sys.executable).parent / "mep-dissector"
KEY_ARGS = ["--mak", MAK.raw.hex(), "--mbk", MBK.raw.hex()]
READ = bytes(b.partial_read(23, 0, 44))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEP_")}
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


# --- pcapng blocks, as raw as the format allows --------------------------------------


def _opt(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + bytes(-len(value) % 4)


def _block(kind: int, body: bytes) -> bytes:
    return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def shb() -> bytes:
    return _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + _opt(0, b""))


def idb(linktype: int = 147, tsresol: int | None = 6, name: bytes = b"line") -> bytes:
    opts = _opt(2, name)
    if tsresol is not None:
        opts += _opt(9, bytes([tsresol]))
    return _block(1, struct.pack("<HHI", linktype, 0, 0) + opts + _opt(0, b""))


def epb(data: bytes, ts: int = 0, interface: int = 0, flags: int | None = None,
        comments: tuple[bytes, ...] = ()) -> bytes:
    body = struct.pack("<IIIII", interface, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    body += data + bytes(-len(data) % 4)
    opts = b"".join(_opt(1, c) for c in comments)
    if flags is not None:
        opts += _opt(2, struct.pack("<I", flags))
    return _block(6, body + (opts + _opt(0, b"") if opts else b""))


# --- the three defects found by fuzzing (issue 13, item 5) ------------------------------


def test_decode_prints_every_frame_of_a_record_of_250_frames(tmp_path):
    """Each further frame was a nested scapy payload: RecursionError from 199 on,
    a traceback and nothing decoded of the whole file."""
    pcap = write_records(tmp_path / "many.pcapng", [
        (0.0, TO_METER, READ), (0.05, FROM_METER, bytes(b.read_ok(bytes(44)))),
        (1.0, FROM_METER, b.ALERT * 250), (2.0, TO_METER, READ * 250),
    ])
    for args in ([], ["-V"], ["-V", *KEY_ARGS]):
        res = run_cli("decode", *args, pcap)
        assert res.returncode == 0 and res.stderr == "", res.stderr[-2000:]
        lines = [ln for ln in res.stdout.splitlines() if not ln.startswith("      ")]
        numbers = [int(ln[:5]) for ln in lines]
        assert numbers == [1, 2] + [3] * 250 + [4] * 250
        assert all(ln.endswith("Alert") for ln in lines[2:252])
        assert "Partial Table Read BT23" in lines[-1]
    # -V shows each frame once, not the rest of its record with it
    assert res.stdout.count("###[ MEP Partial Table Read ]###") == 251


def test_decode_shows_an_impossible_timestamp_and_flags_it(tmp_path):
    """2^64 - 1 microseconds is the year 586524: -V died in datetime."""
    pcap = tmp_path / "far.pcapng"
    pcap.write_bytes(shb() + idb(tsresol=6) + epb(READ, ts=2**64 - 1, flags=2)
                     + epb(READ, ts=1_700_000_000_000_000, flags=2))
    res = run_cli("decode", "-V", pcap)
    assert res.returncode == 0 and res.stderr == "", res.stderr[-2000:]
    blocks = res.stdout.split("\n    2 ")
    assert "arrival 18446744073709.55" in blocks[0]
    assert "past the year 9999: not a real time" in blocks[0]
    assert "expert: Timestamp 18446744073710 s after 1970 is past the year 9999" in blocks[0]
    assert "arrival 2023-11-14T22:13:20.000000+00:00" in blocks[1]
    assert "past the year 9999" not in blocks[1]
    # relative times count from the first frame a clock could have stamped
    assert res.stdout.splitlines()[0].split()[1] == f"{(2**64 - 1) / 1e6 - 1.7e9:.6f}"


def test_read_capture_reads_records_longer_than_65535_bytes(tmp_path):
    """scapy's reader cuts records to 65535 bytes unless asked for more."""
    pcap = write_records(tmp_path / "long.pcapng", [(0.0, FROM_METER, b.ALERT * 40_000)])
    frames = read_capture(pcap)
    assert len(frames) == 40_000
    assert all(f.kind == "alert" and not f.malformed for f in frames)


@pytest.mark.parametrize("damage", ["cut", "undeclared interface", "not pcapng"])
def test_a_damaged_file_is_reported_in_one_line(tmp_path, damage):
    """scapy's reader warned line by line on stderr (or skipped a record without
    a word); decode prints what it could read, then one line saying why it stopped."""
    good = shb() + idb() + epb(READ, flags=2) + epb(bytes(b.read_ok(bytes(44))), 50_000, flags=1)
    data = {
        "cut": good + epb(READ, 1_000_000, flags=2)[:-7],
        "undeclared interface": good + epb(READ, 1_000_000, interface=3, flags=2),
        "not pcapng": b"\x0a\x0d\x0d\x0a" + bytes(30),
    }[damage]
    pcap = tmp_path / "damaged.pcapng"
    pcap.write_bytes(data)
    res = run_cli("decode", "-V", pcap)
    assert len(res.stderr.splitlines()) == 1, res.stderr
    if damage == "not pcapng":
        assert res.returncode == 2 and res.stderr.startswith("mep-dissector: cannot read")
        return
    assert res.returncode == 0
    assert res.stderr.startswith(f"mep-dissector: warning: {pcap} is damaged: PcapNg: ")
    assert "Response: OK cnt=44 (BT23 Current Register Data) [request in 1, 50 ms]" in res.stdout


# --- fuzzing whole files ----------------------------------------------------------------

LINKTYPES = st.sampled_from([147, 147, 147, 148, 162, 0, 1, 101, 0xFFFF])
TSRESOLS = st.one_of(st.none(), st.sampled_from([0, 3, 6, 9, 19, 127, 0x80, 0x8A, 0xBF, 0xFF]))
TIMESTAMPS = st.one_of(
    st.integers(0, 2**64 - 1),
    st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**63, 2**64 - 1, 1_700_000_000_000_000]),
)
COMMENTS = st.lists(st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"\xff\xfe\xc3", UNFRAMED_COMMENT.encode() + b"\xff bad", b""]),
    st.text(max_size=30).map(lambda t: (UNFRAMED_COMMENT + t).encode()),
), max_size=2)


@st.composite
def record_bytes(draw) -> bytes:
    """A capture record: real frames, back to back or not, mutated or random."""
    pieces = draw(st.lists(st.one_of(
        st.sampled_from([READ, b.ALERT, bytes(b.read_ok(bytes(44))), bytes(b.write_ok()),
                         bytes(b.full_write(2098, b"\x01")), b"\x00", b"\xff\xff"]),
        st.binary(max_size=60),
    ), max_size=6))
    data = b"".join(pieces)
    if draw(st.booleans()):
        data *= draw(st.sampled_from([2, 70]))
    return data


@st.composite
def block_lists(draw) -> tuple[bytes, int]:
    """A whole pcapng file and the number of interfaces it declares."""
    out = [shb()]
    n_if = 0
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(
            ["idb", "epb", "epb", "epb", "exchange", "exchange", "unknown", "spb", "shb"]))
        if kind == "exchange" and n_if:  # a request and its answer, at any two times
            client = b.Requester(draw(st.sampled_from([MAK, MBK])), draw(st.integers(0, 99)),
                                 encrypt=draw(st.booleans()))
            wire, seal = client.seal(b.partial_read(23, 0, 44))
            out.append(epb(wire, draw(TIMESTAMPS), draw(st.integers(0, n_if - 1)), 2))
            out.append(epb(b.respond(b.read_ok(bytes(44)), seal), draw(TIMESTAMPS),
                           draw(st.integers(0, n_if - 1)), 1))
        elif kind == "idb" or (kind in ("epb", "exchange") and n_if == 0 and draw(st.booleans())):
            out.append(idb(draw(LINKTYPES), draw(TSRESOLS), draw(st.binary(max_size=12))))
            n_if += 1
        elif kind in ("epb", "exchange"):
            interface = draw(st.integers(0, n_if)) if draw(st.integers(0, 9)) == 0 else (
                draw(st.integers(0, max(0, n_if - 1))))
            flags = draw(st.one_of(st.none(), st.integers(0, 2**32 - 1)))
            out.append(epb(draw(record_bytes()), draw(TIMESTAMPS), interface, flags,
                           tuple(draw(COMMENTS))))
        elif kind == "spb":
            data = draw(record_bytes())
            out.append(_block(3, struct.pack("<I", len(data)) + data + bytes(-len(data) % 4)))
        elif kind == "shb":
            out.append(shb())
            n_if = 0
        else:
            out.append(_block(draw(st.sampled_from([5, 0xBAD, 0x40000BAD])),
                              draw(st.binary(max_size=16).map(lambda x: x + bytes(-len(x) % 4)))))
    data = b"".join(out)
    cut = draw(st.one_of(st.none(), st.integers(1, len(data) - 1)))
    return (data if cut is None else data[:cut]), n_if


def _decode_in_process(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["decode", *args])
    return code, out.getvalue(), err.getvalue()


@given(block_lists(), st.sampled_from([[], ["-V"], ["-V", *KEY_ARGS], KEY_ARGS]))
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_fuzzed_files_decode_without_a_crash(tmp_path_factory, made, args):
    """read_capture and mep-dissector decode (the same code the console script
    runs, called in this process to afford many files)."""
    data, _ = made
    pcap = tmp_path_factory.mktemp("fuzz") / "f.pcapng"
    pcap.write_bytes(data)
    try:
        frames = read_capture(pcap, [MAK, MBK])
    except Exception as exc:  # noqa: BLE001 - only the reader's refusal of the file is fine
        assert type(exc).__name__ == "Scapy_Exception", repr(exc)
        frames = None
    code, out, err = _decode_in_process([*args, str(pcap)])
    assert "Traceback" not in out + err
    assert len(err.splitlines()) <= 1, err
    if frames is None:
        assert code == 2 and err.startswith("mep-dissector: cannot read"), err
    else:
        assert code == 0, err
        for fi in frames:
            fi.summary()
            fi.table  # noqa: B018 - decoded on first use
        assert "a bug" not in err
        lines = [ln for ln in out.splitlines() if not ln.startswith("      ")]
        assert len(lines) == len(frames)


@given(st.lists(block_lists(), min_size=6, max_size=6))
@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_fuzzed_files_raise_no_lua_error_in_tshark(tmp_path_factory, files):
    """tshark with the plugin, with and without keys, two passes and the tree."""
    folder = tmp_path_factory.mktemp("fuzz-tshark")
    for k, (data, _) in enumerate(files):
        pcap = folder / f"f{k}.pcapng"
        pcap.write_bytes(data)
        for keys in ([], [MAK, MBK]):
            out, err = tshark_bytes(pcap, keys)
            assert "Lua Error" not in out + err, (pcap, err[-2000:])
            assert "mep.lua" not in err, err[-2000:]


def tshark_bytes(pcap: Path, keys) -> tuple[str, str]:
    """tshark -2 -V with the plugin; its output read as bytes, since it prints
    packet comments as the file holds them, UTF-8 or not.  Run as a user whose
    ``-X lua_script:`` runs (root on Wireshark 4.4+ runs none)."""
    args = tshark_command("-n", "-2", "-V", "-X", f"lua_script:{readable(LUA)}",
                          "-r", readable(pcap))
    args += key_prefs(keys)
    proc = subprocess.run(args, capture_output=True, timeout=300, check=False,
                          env=tshark_env())
    return (proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def test_ctrl_c_during_decode_is_one_line(tmp_path):
    """SIGINT while decode writes its lines (the pipe full, nobody reading)."""
    import signal

    pcap = write_records(tmp_path / "long.pcapng", [(0.0, FROM_METER, b.ALERT * 30_000)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEP_")}
    proc = subprocess.Popen([str(CLI), "decode", str(pcap)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    # the first line is out: decode is printing, and blocks once the pipe is full
    # (30,000 lines are far more than a pipe holds), so the signal finds it there
    assert proc.stdout.readline().endswith(b"Alert\n")
    proc.send_signal(signal.SIGINT)
    proc.stdout.read()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 130, err
    assert err == "mep-dissector: interrupted\n"


def test_a_comment_cannot_forge_output_lines(tmp_path):
    """An 'unframed' comment is the file's text: its newlines and control
    characters are shown escaped, so -V prints it as one expert line."""
    forged = "noise\n    9   0.000000  Client → Meter   Forged\x1b[2J"
    comment = (UNFRAMED_COMMENT + forged).encode()
    pcap = tmp_path / "comment.pcapng"
    pcap.write_bytes(shb() + idb() + epb(b"\xff\xfe\x00", flags=1, comments=(comment,)))
    res = run_cli("decode", "-V", pcap)
    assert res.returncode == 0 and res.stderr == ""
    assert "Forged" not in "\n".join(ln for ln in res.stdout.splitlines() if "expert:" not in ln)
    assert "could not frame these bytes: noise\\n    9   0.000000" in res.stdout
    assert "\x1b" not in res.stdout and "\\x1b[2J" in res.stdout
