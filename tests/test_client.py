"""mep-client against mep-sim over pty pairs: reads, resync, retries, alerts, encryption, keys."""

from __future__ import annotations

import json

import pytest
from simbench import MAK, MBK

from mepshark.client import cli as client_cli
from mepshark.client import commands as client_commands
from mepshark.client.link import NoResponse
from mepshark.client.session import AuthError, GaveUp, MepError
from mepshark.dissector.catalog import decode, spec_for
from mepshark.dissector.catalog.procedures import RESPONSE_TABLES
from mepshark.dissector.context import TO_METER
from mepshark.dissector.frames import MAX_READ, NOT_POSSIBLE, MEPFullTableRead
from mepshark.dissector.link import read_capture
from mepshark.dissector.security import Key
from mepshark.dissector.tables import table_id
from mepshark.sim.meter import SERVED
from mepshark.sim.server import MepServer


def test_reads_of_every_table_return_the_simulators_values(bench):
    b = bench()
    c = b.client(sequence=0x1001)
    for tag in SERVED:
        got = c.read(tag)
        img = bytes(b.meter.images[table_id(tag)])
        if tag in RESPONSE_TABLES:
            assert got.values()["result_code"] == decode(spec_for(tag), img).values()[
                "result_code"]
            continue
        if spec_for(tag) is None:
            assert got == img, tag
            continue
        want = decode(spec_for(tag), img, dims=b.meter.dims).values()
        assert got.values() == want, tag
        assert not got.problems, (tag, got.problems)
    assert c.stats["resyncs"] == 0 and c.link.stats["retries"] == 0


def test_sequence_recovery_on_0x0c(bench):
    b = bench()
    c = b.client(sequence=0x77)  # far from what the meter expects
    assert c.read("ET03").values()["utility_serial_number"].startswith("MEPSIM")
    assert c.stats["resyncs"] == 1
    assert c.requester.sequence == b.server.expected


def test_retry_after_a_dropped_response(bench):
    b = bench()
    c = b.client(sequence=0x1001)
    b.port.faults.drop = 1
    assert c.read("BT01").values()["manufacturer"] == "EELC"
    # the identical packet went again after 500 ms; the meter had used that
    # sequence number, so it answered 0x0C, and the client carried on.
    assert c.link.stats["retries"] >= 1
    assert c.stats["resyncs"] >= 1


def test_damaged_and_noisy_responses_are_survived(bench):
    b = bench()
    c = b.client(sequence=0x1001)
    b.port.faults.corrupt = 1
    assert c.read("BT01").values()["model"] == "83334-3I"
    assert c.stats["bad_digests"] == 1
    b.port.faults.garbage = 1
    assert c.read("ET03").values()["utility_serial_number"].startswith("MEPSIM")


def test_every_answer_damaged_gives_up(bench):
    b = bench()
    c = b.client(sequence=0x1001, max_attempts=2)
    b.port.faults.corrupt = 4  # two for the full read, two for the partial read after it
    with pytest.raises(GaveUp) as err:
        c.read("BT01")
    assert not isinstance(err.value, MepError)  # the meter sent no error code
    assert err.value.attempts == 2 and "gave up after 2 attempts" in str(err.value)
    assert c.stats["bad_digests"] == 4


def test_no_meter_means_no_response(bench):
    b = bench()
    c = b.client(sequence=0x1001)
    c.link.retries = 1
    b.port.faults.drop = 5
    with pytest.raises(NoResponse):
        c.read("BT00")


def test_alert_handling_end_to_end(bench):
    b = bench()
    c = b.client(MBK, sequence=0x1001)
    b.meter.set_alert("scheduled_read_request_alert")
    b.meter.set_alert("mbus_change")
    c.link.idle(1.3)
    assert c.link.alerts >= 1
    done = c.service_alerts(posted=b"reading")
    assert [d["flag"] for d in done] == ["scheduled_read_request_alert", "mbus_change"]
    assert all(d["result"] == 0 for d in done)
    assert not b.meter.alerting()
    st = b.meter.values("ET14")
    assert st["device_status[4].billing_read_length"] == len(b"reading")
    c.link.alerts = 0
    c.link.idle(1.3)
    assert c.link.alerts == 0


def test_encrypted_session(bench):
    b = bench()
    c = b.client(encrypt=True, sequence=0x1001)
    assert c.read("BT28").values()["rms_voltage_l1"] == b.meter.values("BT28")["rms_voltage_l1"]
    assert b.server.history and all(e.encrypted for e in b.server.history)


def test_wrong_key_gets_0x0b(bench):
    b = bench()
    c = b.client(Key("MAK", bytes([7]) * 16), sequence=0x1001)
    with pytest.raises(AuthError) as err:
        c.read("BT00")
    assert err.value.code == 0x0B


def test_mbk_cannot_write_what_only_the_mak_may(bench):
    b = bench()
    c = b.client(MBK, sequence=0x1001)
    with pytest.raises(MepError) as err:
        c.write("ET13", b"\0", offset=0)
    assert err.value.code == 0x03
    c.write("ET50", b"\x03", offset=30)


def test_cli_read_json_and_pcapng(bench, tmp_path, capsys, monkeypatch):
    b = bench(animate=True)
    monkeypatch.setenv("MEP_MAK", "01" * 16)
    pcap = tmp_path / "client.pcapng"
    rc = client_cli.main(["--port", b.pair.device, "--json", "--pcapng", str(pcap),
                          "--encrypt", "read", "BT28", "ET03"])
    assert rc == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["table"] for o in out] == ["BT28", "ET03"]
    assert 225_000 < out[0]["fields"]["rms_voltage_l1"] < 235_000
    frames = read_capture(pcap, [MAK])
    assert len(frames) >= 6  # BT21 for the layout (+ 0x0C resync), BT28, ET11? no: ET03
    assert {f.direction for f in frames} == {0, 1}
    assert all(f.digest_status == 1 for f in frames if f.kind != "alert")
    assert any(f.encrypted for f in frames)
    assert "01" * 16 not in pcap.read_bytes().hex()


def test_cli_watch_and_wrong_key_message(bench, tmp_path, capsys):
    b = bench(animate=True)
    keys = tmp_path / "keys"
    keys.write_text("MBK=" + "02" * 16 + "\n")
    assert client_cli.main(["--port", b.pair.device, "--key-file", str(keys), "watch", "-c", "2",
                            "--interval", "0.2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "U1=" in lines[0] and "kWh" in lines[0]
    keys.write_text("MAK=" + "05" * 16 + "\n")
    assert client_cli.main(["--port", b.pair.device, "--key-file", str(keys), "read",
                            "BT00"]) == 1
    err = capsys.readouterr().err
    assert "0x0B" in err and "05" * 16 not in err


def test_cli_bad_table_tag_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setenv("MEP_MAK", "01" * 16)
    assert client_cli.main(["--port", "/dev/null", "read", "BT28", "XX99"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "XX99" in err and "BT28 or ET03" in err
    assert err.startswith("mep-client: ")


def test_cli_table_tags_are_normalised():
    args = client_commands.build_parser().parse_args(["--port", "p", "read", "bt28", "et03"])
    assert args.tables == ["BT28", "ET03"]
    for bad in ("XX99", "BT", "BT-1", "ETx", "BT3000"):
        with pytest.raises(client_commands.UsageError):
            client_commands.build_parser().parse_args(["--port", "p", "read", bad])


def test_cli_gave_up_is_one_line(bench, capsys, monkeypatch):
    b = bench()
    monkeypatch.setenv("MEP_MAK", "01" * 16)
    b.port.faults.corrupt = 20
    assert client_cli.main(["--port", b.pair.device, "read", "BT01"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gave up after" in err


def test_cli_alerts_command(bench, capsys, monkeypatch):
    b = bench()
    monkeypatch.setenv("MEP_MBK", "02" * 16)
    monkeypatch.delenv("MEP_MAK", raising=False)
    b.meter.set_alert("delta_data_alert")
    assert client_cli.main(["--port", b.pair.device, "--json", "alerts", "--duration",
                            "1.6"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out and out[0]["alert"]["flag"] == "delta_data_alert"
    assert not b.meter.alerting()


def test_console_scripts_over_a_pty(tmp_path):
    """mep-sim --pty in its own process, mep-client in another."""
    import subprocess
    import sys

    keys = tmp_path / "keys"
    keys.write_text("MAK=" + "01" * 16 + "\nMBK=" + "02" * 16 + "\n")
    sim = subprocess.Popen([sys.executable, "-m", "mepshark.sim.cli", "--pty", "--key-file",
                            str(keys), "-a", "duration:20", "-q"],
                           stdout=subprocess.PIPE, text=True)
    try:
        port = sim.stdout.readline().strip()
        run = subprocess.run([sys.executable, "-m", "mepshark.client.cli", "--port", port,
                              "--key-file", str(keys), "--use", "MBK", "--json", "read", "ET03"],
                             capture_output=True, text=True, timeout=20)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["fields"]["utility_serial_number"].startswith("MEPSIM")
    finally:
        sim.terminate()
        sim.wait(5)


def test_recorded_line_noise_is_marked_unframed(tmp_path):
    """Bytes the client's deframer rejects carry the capture's marker, so the
    dissector shows them as unframed instead of a broken response."""
    from mepshark.client.recorder import Recorder
    from mepshark.dissector.deframer import UNFRAMED, Chunk

    path = tmp_path / "noise.pcapng"
    rec = Recorder(str(path), "/dev/null")
    rec.received(Chunk(UNFRAMED, b"\xff\xa5\x00", 1.0, "length 0xFFA5 exceeds 476"))
    rec.close()
    (info,) = read_capture(path)
    assert info.unframed == "length 0xFFA5 exceeds 476"


# --- partial-read fallback -----------------------------------------------------------


class RefusesFullReads(MepServer):
    """A meter that answers 0x04 to full reads of some tables and serves them in parts,
    as known clients found BT23 on some Gen 3/4 meters."""

    def _read(self, pkt, offset, ex):
        refused = pkt.table_id == table_id("BT23") or spec_for(pkt.table_id) is None
        if isinstance(pkt, MEPFullTableRead) and refused:
            return self._fail(ex, NOT_POSSIBLE)
        return super()._read(pkt, offset, ex)


def test_refused_full_read_gives_the_same_output_by_partial_reads(bench, capsys, monkeypatch):
    monkeypatch.setenv("MEP_MAK", "01" * 16)
    outputs = []
    for server in (MepServer, RefusesFullReads):
        b = bench(server=server)
        for fmt in ([], ["--json"]):
            assert client_cli.main(["--port", b.pair.device, *fmt, "read", "BT23",
                                    "BT01"]) == 0
            outputs.append(capsys.readouterr())
    plain, plain_json, parts, parts_json = outputs
    assert (parts.out, parts_json.out) == (plain.out, plain_json.out)
    assert "fwd_active_wh_l1l2l3" in plain.out and plain.err == ""
    # one note, naming the table and the meter's answer
    assert parts.err.count("\n") == 1 and "BT23" in parts.err and "0x04" in parts.err
    assert "read in parts" in parts.err


def test_a_refused_table_is_read_in_parts_from_then_on(bench):
    b = bench(server=RefusesFullReads)
    c = b.client(sequence=0x1001)
    first = c.read("BT23").values()
    assert c.read("BT23").values() == first
    refusals = [e for e in b.server.history if e.kind == "error"]
    assert len(refusals) == 1 and refusals[0].code == NOT_POSSIBLE
    assert table_id("BT23") in c.in_parts


def test_fallback_reads_in_chunks_no_larger_than_a_read_carries(bench, tmp_path):
    """A table of unknown size, longer than one response: chunks of at most MAX_READ
    bytes, reassembled; the recorded capture shows each partial read."""
    from mepshark.client.recorder import Recorder

    b = bench(server=RefusesFullReads)
    image = bytes((i * 7 + 3) & 0xFF for i in range(2 * MAX_READ + 70))
    b.meter.images[table_id("ET05")] = bytearray(image)
    pcap = tmp_path / "parts.pcapng"
    c = b.client(sequence=0x1001, recorder=Recorder(str(pcap), b.pair.device))
    assert c.read_raw("ET05") == image
    c.link.close()
    requests = [f for f in read_capture(pcap, [MAK]) if f.direction == TO_METER]
    reads = [(r.offset, r.count) for r in requests if r.table_id == table_id("ET05")]
    assert reads[0] == (None, MAX_READ)  # the full read the meter refused
    assert reads[1:] == [(0, MAX_READ), (MAX_READ, MAX_READ), (2 * MAX_READ, MAX_READ)]


def test_fallback_reassembles_tables_of_every_length_at_the_chunk_edges(bench):
    b = bench(server=RefusesFullReads)
    c = b.client(sequence=0x1001)
    sizes = (0, 1, MAX_READ - 1, MAX_READ, MAX_READ + 1, 2 * MAX_READ)
    for tag, size in zip(("ET05", "ET06", "ET07", "BT02", "ET93", "ET20"), sizes, strict=True):
        assert spec_for(tag) is None  # no layout: the size is the meter's to say
        image = bytes((i * 13 + size) & 0xFF for i in range(size))
        b.meter.images[table_id(tag)] = bytearray(image)
        assert c.read_raw(tag) == image, (tag, size)
    assert len(c.in_parts) == len(sizes)


def test_no_permission_is_not_a_reason_to_read_in_parts(bench):
    class NoReads(MepServer):
        def _read(self, pkt, offset, ex):
            return self._fail(ex, 0x03)

    b = bench(server=NoReads)
    c = b.client(sequence=0x1001)
    with pytest.raises(MepError) as err:
        c.read("BT01")
    assert err.value.code == 0x03 and not c.in_parts
    assert len(b.server.history) == 1


# --- options and messages -------------------------------------------------------------


def test_w_and_a_are_spelled_as_in_mep_capture(tmp_path):
    parse = client_commands.build_parser().parse_args
    for argv in (["-w", "x.pcapng", "read", "BT01"], ["--pcapng", "x.pcapng", "read", "BT01"],
                 ["read", "BT01", "-w", "x.pcapng"], ["alerts", "--pcapng", "x.pcapng"]):
        assert parse(["--port", "p", *argv]).pcapng == "x.pcapng", argv
    for argv, want in ((["alerts"], 10.0), (["alerts", "-a", "duration:3"], 3.0),
                       (["-a", "duration:2.5", "alerts"], 2.5), (["alerts", "--duration", "4"], 4),
                       (["watch"], None), (["watch", "-a", "duration:7"], 7.0),
                       (["-a", "duration:7", "watch", "-c", "3"], 7.0)):
        assert client_commands.duration_of(parse(["--port", "p", *argv])) == want, argv
    for argv in (["alerts", "-a", "duration:x"], ["alerts", "-a", "packets:3"],
                 ["-a", "duration:3", "read", "BT01"], ["alerts", "--duration", "0"]):
        with pytest.raises(client_commands.UsageError):
            client_commands.duration_of(parse(["--port", "p", *argv]))


def test_cli_alerts_says_when_no_alert_came(bench, tmp_path, capsys, monkeypatch):
    b = bench()
    monkeypatch.setenv("MEP_MAK", "01" * 16)
    pcap = tmp_path / "quiet.pcapng"
    assert client_cli.main(["--port", b.pair.device, "-w", str(pcap), "alerts", "-a",
                            "duration:1"]) == 0
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1
    assert out.err.startswith("mep-client: no alert came in 1.")
    assert read_capture(pcap) == []


def test_cli_alerts_summary_counts_what_came(bench, capsys, monkeypatch):
    b = bench()
    monkeypatch.setenv("MEP_MBK", "02" * 16)
    monkeypatch.delenv("MEP_MAK", raising=False)
    b.meter.set_alert("mbus_change")
    assert client_cli.main(["--port", b.pair.device, "alerts", "--duration", "1.6"]) == 0
    out = capsys.readouterr()
    assert "alert serviced: flag=mbus_change" in out.out
    assert "1 action taken" in out.err and "no alert" not in out.err


def test_cli_watch_stops_after_a_duration(bench, capsys, monkeypatch):
    b = bench()
    monkeypatch.setenv("MEP_MAK", "01" * 16)
    assert client_cli.main(["--port", b.pair.device, "watch", "--interval", "0.2",
                            "-a", "duration:0.5"]) == 0
    out = capsys.readouterr()
    assert 1 <= len(out.out.splitlines()) and all("U1=" in x for x in out.out.splitlines())
    assert out.err == ""


def test_cli_missing_port_is_one_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MEP_MAK", "01" * 16)
    port = str(tmp_path / "ttyUSB9")
    assert client_cli.main(["--port", port, "read", "BT01"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.count("No such file or directory") == 1
    assert err.startswith(f"mep-client: cannot open {port}: ") and "[Errno" not in err


@pytest.mark.parametrize("baud, warned", [(12345, True), (1000, True), (9600, False),
                                          (300, False), (115200, False), (14400, False)])
def test_cli_unusual_baud_rate_is_warned_about(tmp_path, capsys, monkeypatch, baud, warned):
    monkeypatch.setenv("MEP_MAK", "01" * 16)
    assert client_cli.main(["--port", str(tmp_path / "none"), "--baud", str(baud), "read",
                            "BT01"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 + warned
    if warned:
        assert lines[0].startswith(f"mep-client: warning: {baud} baud is not a rate")
        assert "9600" in lines[0] and "115200" in lines[0]
