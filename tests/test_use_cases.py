"""The MEP guide's chapter 3 use cases, as recorded in pcaps/use-cases.pcapng.

Each chain is checked where it matters: the tables read late in a chain
decode with the sizes the earlier reads of the capture published (provenance
"capture" and the frame they came from), which differ from the guide's
defaults, so a decode with defaults would show other fields.  tshark running
the generated dissector agrees field for field, and one display filter per
use case finds the decisive frame.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import make_use_cases as uc
import pytest
from luadiff import differences, filtered_frames
from traffic import MAK

from mepshark.dissector.catalog import decode, spec_for
from mepshark.dissector.catalog.devices import recurring_read_order
from mepshark.dissector.catalog.history import log_entries, queue_order
from mepshark.dissector.catalog.layout import CAPTURE
from mepshark.dissector.catalog.loadprofile import (
    data_set_blocks,
    geometry,
    interval_length,
    mapped_source_path,
    newest_block_window,
    newest_interval_window,
)
from mepshark.dissector.catalog.procedures import RESPONSE_HEADER_SIZE
from mepshark.dissector.link import read_capture

ROOT = Path(__file__).parent.parent

PCAP = ROOT / "pcaps" / "use-cases.pcapng"


@pytest.fixture(scope="module")
def session():
    return uc.build()


@pytest.fixture(scope="module")
def frames():
    return {f.number: f for f in read_capture(PCAP, [MAK])}


@pytest.fixture(scope="module")
def answer(session, frames):
    """The decoded table of a step's response (the record after its request)."""
    def get(step: str):
        resp = frames[session.steps[step] + 1]
        assert resp.request_in == session.steps[step] and resp.digest_status == 1, step
        return resp.table
    return get


def sent(session, frames, step: str):
    """The decoded table a step's request carries (writes, procedure calls)."""
    return frames[session.steps[step]].table


def learned(table, key: str, step: str, session) -> int:
    """The value of a dimension ``table`` was laid out with; it came from ``step``'s answer."""
    dim = table.dims[key]
    assert dim.source == CAPTURE and dim.frame == session.steps[step] + 1, (key, dim)
    return dim.value


def raw(frames, session, step: str) -> tuple[bytes, int]:
    """A step's answer: the table bytes and the offset they were read from."""
    resp = frames[session.steps[step] + 1]
    return bytes(resp.packet.data), frames[session.steps[step]].offset or 0


def default_decode(frames, session, step: str, tag: str):
    """The same bytes decoded with the guide's defaults: what a capture that
    lacked the dimension tables would show."""
    data, offset = raw(frames, session, step)
    full = frames[session.steps[step]].offset is None
    return decode(spec_for(tag), data, offset, None, full=full)


# ------------------------------------------------------------------ the file


def test_capture_is_the_generator_output(tmp_path):
    """pcaps/use-cases.pcapng is what make_use_cases.py writes (regenerate when this fails)."""
    out = tmp_path / "uc.pcapng"
    uc.write(out)
    assert out.read_bytes() == PCAP.read_bytes()


def test_every_exchange_is_answered_and_verified(session, frames):
    requests = [f for f in frames.values() if f.kind == "request"]
    assert len(requests) == len(session.steps) - 3  # three alert steps
    for f in requests:
        assert f.digest_status == 1 and f.response_in is not None, f.number
    # only the new client's guessed sequence number is refused (0x0C)
    refused = [f.number for f in frames.values() if f.kind == "response" and f.code != 0]
    assert refused == [session.steps["replace.bt00_guess"] + 1]
    assert not any(f.malformed or f.no_response for f in frames.values())


def test_lua_agrees_with_scapy():
    assert differences(PCAP, [MAK]) == []


# ------------------------------------------------- M-Bus scheduled read data


def test_mbus_new_device_found_in_et14_sized_by_et11(session, answer, frames):
    et14 = answer("mbus.et14")
    assert learned(et14, "ET11.nbr_devices", "start.et11", session) == 6
    assert et14.problems == [] and et14.size == 6 + 6 * 36
    v = et14.values()
    assert v["device_2_occupied"] and v["device_5_occupied"] and not v["device_6_occupied"]
    assert v["device_status[1].device_handle"] == uc.WATER_2
    assert v["device_status[5].device_status"] == 0  # MEP client 2's slot: only with 6 devices
    assert "36 byte(s) past the end" in " ".join(
        default_decode(frames, session, "mbus.et14", "ET14").problems)
    slot = answer("mbus.et14_slot2")
    assert slot.get("device_status[1].billing_data_collected") is True
    assert slot.get("device_status[1].billing_read_length") == 34


def test_mbus_first_read_in_et16_at_the_learned_entry_size(session, answer, frames):
    et16 = answer("mbus.et16_slot2")
    assert learned(et16, "ET11.data_entry_size", "start.et11", session) == 261
    assert et16.offset == 261 and et16.length == 34
    v = et16.values()
    assert v["device_table[1].timestamp"] == dt.datetime(2024, 5, 1, 0, 0, 5)
    assert v["device_table[1].telegram.serial_nbr"] == uc.SERIAL_2
    assert v["device_table[1].telegram.medium"] == 7  # water
    records = v["device_table[1].telegram.data_records"]
    assert records.startswith(uc.DRH_VOLUME + bytes.fromhex("78563412"))
    assert v["device_table[1].telegram.terminator"] == 0
    # with the default 517-byte entries these bytes would be the middle of entry 0
    assert "device_table[1].telegram.serial_nbr" not in default_decode(
        frames, session, "mbus.et16_slot2", "ET16").values()


def test_mbus_et45_navigated_with_et36(session, answer, frames):
    et36 = answer("mbus.et36")  # the fifth record alone, a partial read
    assert et36.get("et45_entry_size") == 269 and et36.get("et45_current_entries") == 12
    head = answer("mbus.et45_header")
    assert learned(head, "ET36.et45_current_entries", "mbus.et36", session) == 12
    assert recurring_read_order(head) == [*range(3, 12), 0, 1, 2]  # wrapped: newest in 2
    unread = recurring_read_order(head, unread_only=True)
    assert unread == [1, 2]
    handles = {}
    for element in unread:
        t = answer(f"mbus.et45_entry{element}_head")
        assert learned(t, "ET36.et45_entry_size", "mbus.et36", session) == 269
        assert t.offset == 6 + element * 269
        handles[element] = t.get(f"log_entries[{element}].handle")
    assert handles == {1: uc.WATER_1, 2: uc.WATER_2}
    newest = answer("mbus.et45_newest")
    length = answer("mbus.et45_entry2_head").get("log_entries[2].length")
    assert newest.offset == 6 + 2 * 269 and newest.length == length == 42
    v = newest.values()
    assert v["log_entries[2].handle"] == uc.WATER_2 and v["log_entries[2].result"] == 4
    assert v["log_entries[2].data.timestamp"] == dt.datetime(2024, 5, 2, 0, 0, 6)
    assert v["log_entries[2].data.telegram_length"] == 26
    # the defaults (525-byte entries, none current) show nothing of it
    assert default_decode(frames, session, "mbus.et45_newest", "ET45").values() == {}


def test_mbus_et45_telegram_shown_when_reading_length_bytes(answer):
    """Chapter 3 step 6 reads the entry's Length bytes: the whole telegram shows."""
    newest = answer("mbus.et45_newest")
    assert newest.problems == []
    v = newest.values()
    assert v["log_entries[2].data.telegram.serial_nbr"] == uc.SERIAL_2
    assert v["log_entries[2].data.telegram.medium"] == 7
    assert v["log_entries[2].data.telegram.data_records"].startswith(uc.DRH_VOLUME)


def test_mbus_et16_reports_no_defaults(answer):
    """Same-table lengths (local:) are data, not guide defaults, even outside the window."""
    assert answer("mbus.et16_slot2").defaults_used == []


def test_mbus_filter_finds_the_new_device_in_et45(session):
    found = filtered_frames(PCAP, [MAK], f"mep.et45.log_entries.handle == {uc.WATER_2:#06x}")
    assert found == [
        session.steps["mbus.et45_entry2_head"] + 1, session.steps["mbus.et45_newest"] + 1]


# --------------------------------------------------------- on-demand M-Bus data


def test_on_demand_ep19_et15_et16(session, answer, frames):
    call = sent(session, frames, "ondemand.ep19")
    assert learned(call, "ET11.mbus_multicast_message_length", "start.et11", session) == 33
    v = call.values()
    assert (v["procedure_index"], v["mfg_flag"]) == (19, True)
    assert v["transaction_number"] == 0x7A10 and v["device_handle"] == uc.WATER_2
    assert v["request_type"] == 2 and call.size == 3 + 6 + 32 and call.problems == []
    assert answer("ondemand.et59").get("entry_index") == 2
    first, second = answer("ondemand.et15_poll1"), answer("ondemand.et15_poll2")
    for poll in (first, second):
        assert poll.get("request_queue[2].transaction_nbr") == 0x7A10
    assert first.get("request_queue[2].result") == 0 and second.get("request_queue[2].result") == 1
    assert answer("ondemand.et14_length").get("device_status[1].billing_read_length") == 34
    et16 = answer("ondemand.et16_slot2")
    assert et16.get("device_table[1].timestamp") == dt.datetime(2024, 5, 2, 10, 4, 9)
    records = et16.get("device_table[1].telegram.data_records")
    assert records[3:7] == bytes.fromhex("86603412")  # m3


def test_full_et59_reads_after_ep17_and_ep19_decode_cleanly(session, answer):
    """ET59 holds 4 + BT00.response_data_length bytes whatever the procedure returns."""
    size = RESPONSE_HEADER_SIZE + session.meter.dims().get("BT00", "response_data_length")
    for step, code in (("ondemand.et59", 0), ("replace.et59_busy", 1), ("replace.et59_done", 0)):
        table = answer(step)
        assert table.problems == [], step
        assert table.get("result_code") == code, step
        assert table.length == size == 24, step


def test_on_demand_filter_finds_the_ep19_call(session):
    found = filtered_frames(PCAP, [MAK], "mep.ep19.transaction_number == 0x7a10")
    assert found == [session.steps["ondemand.ep19"]]


# ------------------------------------------------------ historical registers


def test_history_bt26_sized_by_bt21(session, answer, frames):
    bt22 = answer("history.bt22")
    assert learned(bt22, "BT21.nbr_summations", "history.bt21", session) == 4
    assert bt22.get("demand_select[1]") == 9 and bt22.problems == []
    head = answer("history.bt26_header")
    assert learned(head, "BT21.nbr_self_reads", "history.bt21", session) == 6
    order = [e.index for e in log_entries(head)]
    assert order == queue_order(6, head.get("last_entry_element"),
                                head.get("nbr_valid_entries")) == [2, 3, 4, 5, 0, 1]
    entries = {**answer("history.bt26_entries_0_2").values(),
               **answer("history.bt26_entries_3_5").values()}
    days = [entries[f"self_read_entries[{e}].time_and_date"] for e in order]
    assert days == [dt.datetime(2024, 4, 27) + dt.timedelta(days=k) for k in range(6)]
    newest = f"self_read_entries[{order[-1]}].register_data."
    assert entries[newest + "fwd_active_wh_l1l2l3"] == 4_120_000 + 20_400 * 30
    assert entries[newest + "tiers[1].fwd_active_wh_l1l2l3"] == (4_120_000 + 20_400 * 30) // 3
    assert entries[newest + "demands[1].demand[0]"] == 145
    assert entries[newest + "demands[0].event_time[0]"] == dt.datetime(2024, 5, 1, 19, 0)
    # under the default BT21 (no self-reads, 11 summations) BT26 is its header alone
    assert default_decode(frames, session, "history.bt26_entries_0_2", "BT26").values() == {}


def test_history_filter_finds_the_newest_self_read(session):
    wh = 4_120_000 + 20_400 * 30
    found = filtered_frames(
        PCAP, [MAK], f"mep.bt26.self_read_entries.register_data.fwd_active_wh_l1l2l3 == {wh}")
    assert found == [session.steps["history.bt26_entries_0_2"] + 1]


# ------------------------------------------------------------ load profile


def test_load_profile_newest_block_and_interval(session, answer, frames):
    bt61, bt63 = answer("lp.bt61"), answer("lp.bt63")
    et21 = answer("lp.et21_set1")
    dims = {k: v.value for k, v in answer("lp.bt64_full_block").dims.items()}
    g = geometry(1, dims)
    assert (g.nbr_blocks, g.intervals_per_block, g.nbr_channels) == (4, 24, 3)
    # ET21 tells the same sizes as the layout computes from BT61/BT62
    pre = "data_set_internal_configuration[0]."
    assert (et21.get(pre + "block_size"), et21.get(pre + "block_header_size"),
            et21.get(pre + "interval_size")) == (g.block_size, g.block_header_size,
                                                 g.interval_size) == (344, 8, 14)
    last = bt63.get("data_set_status[0].last_block")
    assert frames[session.steps["lp.bt64_full_block"]].offset == newest_block_window(last, g)[0]
    block = answer("lp.bt64_full_block")
    learned(block, "BT61.nbr_blk_ints_set1", "lp.bt61", session)
    learned(block, "BT62.format_set1", "lp.bt62", session)
    blocks = data_set_blocks(block, last_block=last,
                             nbr_valid_blocks=bt63.get("data_set_status[0].nbr_valid_blocks"),
                             nbr_valid_intervals=bt63.get("data_set_status[0].nbr_valid_intervals"),
                             interval=interval_length(bt61.get("max_int_time_set1")))
    assert [b.index for b in blocks] == [3, 0, 1, 2]
    full = blocks[2]  # block 1: May 1, complete
    assert full.end_time == dt.datetime(2024, 5, 2)
    assert [i.end_time.hour for i in full.intervals[:2]] == [1, 2]
    assert all(i.valid for i in full.intervals)
    assert full.intervals[23].values == uc.lp_set1(dt.datetime(2024, 5, 2))
    assert full.intervals[2].values[2] == 0 and full.intervals[2].channel_status[2] == 4  # skipped
    # the newest interval, by the formula of step 6
    newest = answer("lp.bt64_newest_interval")
    window = newest_interval_window(last, et21.get(pre + "last_interval_number"), g)
    assert (newest.offset, newest.length) == window == (822, 14)
    ip = "blocks[2].intervals[9]."
    assert newest.get(ip + "interval_channel_data[0]") == uc.lp_set1(
        dt.datetime(2024, 5, 2, 10))[0]
    assert default_decode(frames, session, "lp.bt64_newest_interval", "BT64").values() == {}


def test_load_profile_mbus_channel_parsed_through_et66_and_et57(session, answer):
    bt62 = answer("lp.bt62")
    assert bt62.get("channel_settings_set1[2].interval_source") == 112  # a mapped source
    ext = answer("lp.et66").get(mapped_source_path(112))
    assert ext >> 12 == 4 and (ext >> 8 & 0xF) == 1  # M-Bus, ET13 device index 1
    mdt = ext & 0x1F
    et57 = answer("lp.et57")
    assert learned(et57, "ET11.et57_entry_count", "start.et11", session) == 16
    entry = next(i for i in range(16) if et57.get(f"mdt_entries[{i}].mdt") == mdt
                 and et57.get(f"mdt_entries[{i}].entry_type") == 1)
    assert et57.get(f"mdt_entries[{entry}].drh") == uc.DRH_VOLUME  # 8-digit BCD, m3
    value = answer("lp.bt64_newest_interval").get("blocks[2].intervals[9].interval_channel_data[2]")
    litres = int(f"{value:08x}")  # the 4 stored bytes are the BCD digits
    assert litres == 12_345_678 + 34 * 12  # 12345.678 m3 on May 1, 12 l/h since
    assert litres == uc.water(dt.datetime(2024, 5, 2, 10))


def test_load_profile_set2_in_uint16(session, answer, frames):
    et21 = answer("lp.et21_set2")
    pre = "data_set_internal_configuration[1]."
    interval = answer("lp.bt65_newest_interval")
    assert learned(interval, "BT62.format_set2", "lp.bt62", session) == 2
    g = geometry(2, {k: v.value for k, v in interval.dims.items()})
    assert et21.get(pre + "block_size") == g.block_size == 299
    last = answer("lp.bt63").get("data_set_status[1].last_block")
    assert (interval.offset, interval.length) == newest_interval_window(
        last, et21.get(pre + "last_interval_number"), g) == (424, 6)
    assert interval.get("blocks[1].intervals[19].interval_channel_data_uint16[0]") == 114  # V
    assert interval.get("blocks[1].intervals[19].interval_channel_data_uint16[1]") == 236


def test_load_profile_alert_serviced(session, answer, frames):
    alert = frames[session.steps["lpalert.alert"]]
    assert alert.kind == "alert"
    assert answer("lpalert.et13").get("device_config[4].mbus_change") is True
    assert answer("lpalert.bt63").get("data_set_status[0].nbr_valid_intervals") == 11
    newest = answer("lpalert.bt64_newest_interval")
    assert newest.offset == 822 + 14
    assert newest.get("blocks[2].intervals[10].interval_channel_data[0]") == uc.lp_set1(
        dt.datetime(2024, 5, 2, 11))[0]
    call = sent(session, frames, "lpalert.ep39")
    assert call.get("parameters") == bytes([uc.EP39_CLEAR_MBUS_ALERT])
    result = answer("lpalert.et59")
    assert learned(result, "BT00.response_data_length", "start.bt00", session) == 20
    assert result.problems == [] and result.get("result_code") == 0


def test_load_profile_filter_finds_the_set2_interval(session):
    found = filtered_frames(
        PCAP, [MAK], "mep.bt65.blocks.intervals.interval_channel_data_uint16 == 114")
    assert found == [session.steps["lp.bt65_newest_interval"] + 1]


# ------------------------------------------------------------ control valve


def test_control_valve_status_and_command_monitor(session, answer, frames):
    enable = sent(session, frames, "valve.et50_mbus_alerts")
    assert enable.get("mep_inbound_configuration[0].mbus_alerts") is True
    assert answer("valve.et13").get("device_config[4].mbus_change") is True
    et58 = answer("valve.et58")
    assert learned(et58, "ET11.nbr_devices", "start.et11", session) == 6
    assert et58.problems == [] and et58.size == 120
    assert et58.get("device_status[1].control_status") == 0
    assert "device_status[5].control_status" in et58.values()
    mdt = sent(session, frames, "valve.et57_mdt2")
    assert mdt.get("mdt_entries[1].mdt") == 2 and mdt.get("mdt_entries[1].drh") == bytes.fromhex(
        "01FD1A")
    monitor = sent(session, frames, "valve.et34_monitor")
    assert monitor.values() == {"device_config[1].command_monitor_mdt": 2}
    et34 = answer("valve.et34")
    assert learned(et34, "ET11.config_entry_2_size", "start.et11", session) == 22
    assert et34.get("device_config[1].command_monitor_mdt") == 2
    assert et34.get("device_config[1].load_profile_poll_rate") == 60
    assert et34.problems == [] and et34.size == 6 * 22
    assert default_decode(frames, session, "valve.et34", "ET34").problems  # 5 devices: too long


def test_control_valve_filter_finds_the_monitored_mdt(session):
    found = filtered_frames(PCAP, [MAK], "mep.et34.device_config.command_monitor_mdt == 2")
    assert found == [session.steps["valve.et34_monitor"], session.steps["valve.et34"] + 1]


# --------------------------------------------------------------- delta data


def test_delta_data_sources_learned_from_a_partial_et11_read(session, answer, frames):
    assert answer("delta.et11_check").values() == {"mep_data_alert_sources": 4}
    config = sent(session, frames, "delta.et71_config")
    assert learned(config, "ET11.mep_data_alert_sources", "delta.et11_check", session) == 4
    assert config.size == 4 * 13 and config.problems == []
    assert answer("delta.et13").get("device_config[4].delta_data_alert") is True
    et71 = answer("delta.et71")
    v = et71.values()
    assert [v[f"delta_data[{i}].delta_data_monitor_source"] for i in range(4)] == [
        16, 17, 0x4101, 0xFF]
    cmp, sample = v["delta_data[0].comparison_value"], v["delta_data[0].sampled_data_value"]
    assert cmp - sample > v["delta_data[0].configured_delta"]  # L2 lost half its voltage
    # the ET11 of the session start (10 sources) would call the 52 bytes a short table
    earlier = {"ET11.mep_data_alert_sources": 10}
    data, offset = raw(frames, session, "delta.et71")
    assert decode(spec_for("ET71"), data, offset, earlier, full=True).problems
    call = sent(session, frames, "delta.ep39")
    assert call.get("parameters") == bytes([uc.EP39_CLEAR_DELTA_DATA_ALERT])
    assert answer("delta.et59").get("result_code") == 0
    assert answer("delta.et13_cleared").get("device_config[4].delta_data_alert") is False


def test_delta_data_filter_finds_the_alert_state(session):
    found = filtered_frames(PCAP, [MAK], "mep.et71.delta_data.sampled_data_value == 115800")
    assert found == [session.steps["delta.et71"] + 1]


# -------------------------------------------------------- unbalanced voltage


def test_unbalanced_voltage(session, answer, frames):
    bt03 = answer("voltage.bt03")
    assert learned(bt03, "BT00.manufacturer_status_length", "start.bt00", session) == 5
    assert bt03.problems == [] and bt03.get("mfg_alarms.unbalanced_voltage_detected") is True
    assert default_decode(frames, session, "voltage.bt03", "BT03").problems  # 9 bytes expected
    et04 = answer("voltage.et04")
    assert et04.get("rated_voltage") == 230 and et04.get("phase_loss_threshold") <= 35
    et55 = answer("voltage.et55")
    assert learned(et55, "BT01.firmware_version_major", "start.bt01", session) == 4
    assert (et55.get("broken_mv_conductor_detection_time_threshold"),
            et55.get("zero_fault_detection_time_threshold"),
            et55.get("voltage_fluctuation_limit")) == (600, 10, 5)
    bt28 = answer("voltage.bt28")
    assert learned(bt28, "BT21.nbr_present_demands", "history.bt21", session) == 1
    volts = [bt28.get(f"rms_voltage_l{p}") / 1000 for p in (1, 2, 3)]
    rated = et04.get("rated_voltage")
    assert 0.85 * rated <= volts[0] <= 1.15 * rated  # one phase normal ...
    assert all(abs(x / volts[0] - 0.5) <= 0.05 for x in volts[1:])  # ... two at half
    # without BT21's present demand the window starts one byte into RMS Voltage L2
    shifted = default_decode(frames, session, "voltage.bt28", "BT28").values()
    assert "rms_voltage_l1" not in shifted and shifted["rms_voltage_l3"] != 116_300
    et09 = answer("voltage.et09")
    assert learned(et09, "ET04.max_power_outages_recorded", "voltage.et04", session) == 4
    v = et09.values()
    assert [v[f"phase_l{p}_loss"] for p in (1, 2, 3)] == [False, False, False]  # no phase loss
    assert v["l2_most_recent_sag1_voltage"] == 115_400 and v["l2_sag1_events"] == 4
    assert et09.offset == 6 + 4 * 18
    assert "phase_l2_loss" not in default_decode(frames, session, "voltage.et09", "ET09").values()


def test_unbalanced_voltage_filter_finds_the_alarm(session):
    found = filtered_frames(PCAP, [MAK], "mep.bt03.mfg_alarms.unbalanced_voltage_detected == 1")
    assert found == [session.steps["voltage.bt03"] + 1]


# ---------------------------------------------------------- client replacement


def test_replacing_a_mep_client(session, answer, frames):
    guess = frames[session.steps["replace.bt00_guess"] + 1]
    assert guess.code == 0x0C
    retry = frames[session.steps["replace.bt00"]]
    assert retry.retransmission_of == session.steps["replace.bt00_guess"]
    et50 = answer("replace.et50")
    assert et50.get("mep_inbound_configuration[0].identification_string").rstrip(b"\0") == (
        b"MEPC-OLD-000117")
    old = answer("replace.et14_mep")
    assert learned(old, "ET11.status_entry_size", "replace.et11", session) == 36
    assert old.get("device_status[4].device_handle") == uc.MEP_OLD
    assert old.get("device_status[4].device_status") == 3  # MEP client up
    call = sent(session, frames, "replace.ep17")
    assert call.get("device_handle") == uc.MEP_OLD and call.get("action") == 0
    assert answer("replace.et59_busy").get("result_code") == 1
    assert answer("replace.et59_done").get("result_code") == 0
    removed = answer("replace.et14_removed")
    assert removed.get("device_5_occupied") is False
    assert removed.get("device_status[4].device_handle") == 0
    reg = sent(session, frames, "replace.et50_register")
    assert reg.get("mep_inbound_configuration[0].identification_string").rstrip(b"\0") == (
        b"MEPC-NEW-000342")
    assert reg.get("mep_inbound_configuration[0].mep_device_registered") is True
    new = answer("replace.et14_new")
    assert new.get("device_status[4].device_handle") == uc.MEP_NEW


def test_replacement_filter_finds_the_ep17_call(session):
    found = filtered_frames(PCAP, [MAK], f"mep.ep17.device_handle == {uc.MEP_OLD}")
    assert found == [session.steps["replace.ep17"]]
