"""ET09, ET89, ET90 and ET97: offsets against the guide, dimension chains, round trips, bad data."""

from __future__ import annotations

import random

import pytest
from catalogutil import (
    assert_decodes_within,
    assert_round_trip,
    assert_window,
    offsets,
    random_bytes,
    random_values,
)

from mepshark.dissector.catalog import (
    DimensionContext,
    decode,
    encode,
    layout,
    manufacturer,
    quality,
    spec_for,
    table_size,
)
from mepshark.dissector.catalog.layout import CAPTURE, DEFAULT
from mepshark.dissector.catalog.registry import DIMENSION_SOURCES

ET09, ET89, ET90, ET97 = quality.ET09, quality.ET89, quality.ET90, quality.ET97


# ------------------------------------------------------------------ registry


def test_registered_with_guide_ids():
    assert quality.TABLES == (ET09, ET89, ET90, ET97)
    for tag, tid in (("ET09", 2057), ("ET89", 2137), ("ET90", 2138), ("ET97", 2145)):
        assert spec_for(tag) is spec_for(tid) is getattr(quality, tag)
    # the tables sizing ours are decoded eagerly by the capture context
    assert {"ET04", "ET90"} <= DIMENSION_SOURCES


# ------------------------------------------------------------- round trips

DIM_CASES = [
    None,
    {"ET04.max_power_outages_recorded": 0},
    {"ET04.max_power_outages_recorded": 3, "ET90.nbr_ftz_messages": 0},
    {"ET90.nbr_ftz_messages": 7, "ET90.nbr_pending_security_events": 4},
    {"ET90.nbr_pending_security_events": 0},
    {"ET90.nbr_pending_security_events": 2, "ET90.pending_security_event_entry_size": 5},
    {"ET90.nbr_pending_security_events": 2, "ET90.pending_security_event_entry_size": 12},
]


@pytest.mark.parametrize("spec", quality.TABLES, ids=lambda s: s.tag)
@pytest.mark.parametrize("dims", DIM_CASES, ids=str)
@pytest.mark.parametrize("seed", range(3))
def test_round_trip(spec, dims, seed):
    assert_round_trip(spec, random_values(spec, dims, seed), dims)


# ------------------------------------------------------------------- sizes


def test_sizes_default_and_learned():
    # ET09: A = ET04.53*18 + 357, table ends at A + 10*12 + 42
    assert table_size(ET09) == 10 * 18 + 357 + 162 == 699
    assert table_size(ET09, {"ET04.max_power_outages_recorded": 4}) == 4 * 18 + 519
    assert table_size(ET90) == 27
    assert table_size(ET97) == 3 * 8 + 102 == 126
    assert table_size(ET97, {"ET90.nbr_ftz_messages": 5}) == 5 * 8 + 102
    assert table_size(ET89) == 131 + 1 + 8 + 15 == 155
    assert table_size(ET89, {"ET90.nbr_pending_security_events": 3,
                             "ET90.pending_security_event_entry_size": 10}) == 132 + 30 + 15


# ----------------------------------------------------------------- offsets


def test_et09_offsets_against_the_guide():
    for n in (10, 4, 1):
        dims = {"ET04.max_power_outages_recorded": n}
        by_path = offsets(ET09, dims)
        b, a = n * 18, n * 18 + 357
        for path, off in (
            ("long_outage_duration_threshold", 0), ("sag1_surge_time_threshold", 2),
            ("sag1_threshold", 3), ("surge_threshold", 4), ("over_current_threshold", 5),
            ("power_outage_records[0].power_on_date_time", 6),
            ("power_outage_records[0].reset_cause", 12),
            ("power_outage_records[0].power_off_date_time", 14),
            ("power_outage_records[0].power_off_duration", 20),
            (f"power_outage_records[{n - 1}].power_off_duration", 20 + (n - 1) * 18),
            ("l1_most_recent_sag1_event", b + 6), ("l1_sag1_events", b + 12),
            ("l3_sag1_events", b + 28), ("l1_most_recent_surge_event", b + 30),
            ("l3_surge_events", b + 52), ("min_frequency", b + 54),
            ("min_freq_date_time", b + 58), ("max_frequency", b + 64),
            ("max_freq_date_time", b + 68), ("l1_over_current_events", b + 74),
            ("l3_over_current_events", b + 82), ("phase_l1_loss", b + 86),
            ("phase_l3_loss", b + 86), ("l1_most_recent_phase_loss_event", b + 87),
            ("l1_phase_loss_events", b + 93), ("l2_most_recent_phase_loss_event", b + 95),
            ("l3_phase_loss_events", b + 109), ("l1_most_recent_sag1_voltage", b + 111),
            ("l3_most_recent_surge_voltage", b + 131), ("short_outage_count", b + 135),
            ("pq_configuration_id", b + 139), ("sag1_surge_threshold_seconds", b + 143),
            ("power_up_quality_hold_time", b + 144),
            ("over_current_time_threshold", b + 145),
            ("thd_records[0].thd_time_threshold", b + 147),
            ("thd_records[0].thd_threshold", b + 149),
            ("thd_records[0].thd_event_records[0].event_count", b + 151),
            ("thd_records[0].thd_event_records[0].event_timestamp", b + 153),
            ("thd_records[0].thd_event_records[0].max_thd", b + 159),
            ("thd_records[0].thd_event_records[0].max_thd_timestamp", b + 161),
            ("thd_records[0].thd_event_records[0].average_thd", b + 167),
            ("drp_drc_event_records[0].drp", a), ("drp_drc_event_records[0].drc", a + 2),
            ("drp_drc_event_records[0].time_stamp", a + 4),
            ("drp_drc_event_records[11].time_stamp", a + 110 + 4),
            ("sag2_time_threshold", a + 120), ("sag2_threshold", a + 122),
            ("l1_most_recent_sag2_event", a + 123), ("l1_sag2_events", a + 129),
            ("l2_most_recent_sag2_event", a + 131), ("l2_sag2_events", a + 137),
            ("l3_most_recent_sag2_event", a + 139), ("l3_sag2_events", a + 145),
            ("l1_most_recent_sag2_voltage", a + 147), ("l2_most_recent_sag2_voltage", a + 151),
            ("l3_most_recent_sag2_voltage", a + 155),
            ("average_current_calculation_interval", a + 159),
            ("early_sag_surge_event", a + 161),
        ):
            assert by_path[path] == off, (n, path)


def test_et89_offsets_against_the_guide():
    by_path = offsets(ET89)
    for path, off in (
        ("prior_mep_1_handle", 0), ("prior_mep_1_id", 2), ("mep_1_reregister_requests", 32),
        ("mep_1_reregister_allowed", 33), ("prior_mep_2_handle", 34), ("prior_mep_2_id", 36),
        ("mep_2_reregister_requests", 66), ("mep_2_reregister_allowed", 67),
        ("last_h1_telegram_time", 68), ("h1_device_present", 74), ("plc_disabled", 74),
        ("relays[0].current_op_mode", 75), ("relays[0].maintenance_time_remaining", 76),
        ("relays[0].maintenance_state", 76), ("relays[0].time_remaining_in_locked_state", 80),
        ("relays[0].remote_no_expire", 84), ("relays[0].local_state", 88),
        ("image_validation_key_ids[0]", 109), ("key_0_invalidated", 113),
        ("last_validation_error", 114), ("last_validation_key_id", 115),
        ("last_image_length", 117), ("signature_length", 121), ("signature", 122),
        ("adj_log_unread_entry_mask", 130), ("block_remote_unblock", 131),
        ("pending_security_event_details[0].alarm_id", 132),
        ("pending_security_event_details[0].argument", 133 + 1),
        ("pending_security_event_details[0].count", 135 + 1),
        ("pending_security_event_details[0].minutes_to_report", 137 + 1),
    ):
        assert by_path[path] == off, path


def test_et89_mode_words():
    # Maintenance word: 1000 s left, no expire, state closed; op mode Local
    word = 1000 | 1 << 19 | 1 << 20
    d = decode(ET89, bytes((3,)) + word.to_bytes(4, "little"), 75)
    v = {f.slot.path: f.text for f in d.fields}
    assert v["relays[0].current_op_mode"] == "Local (3)"
    assert v["relays[0].maintenance_time_remaining"] == "1000 s"
    assert v["relays[0].maintenance_no_expire"] == "True"
    assert v["relays[0].maintenance_state"] == "Closed (1)"


def test_et90_offsets_against_the_guide():
    by_path = offsets(ET90)
    for path, off in (("ip_address_length", 0), ("urgent_alarm_bitmask_length", 2),
                      ("connection_reason_bitmap_length", 3), ("modem_sim_pin_length", 7),
                      ("modem_current_mobile_operator_name_length", 13),
                      ("modem_maximum_connection_services", 15), ("nbr_ftz_messages", 16),
                      ("modem_at_command_reply_length", 17), ("modem_sim_iccd_length", 19)):
        assert by_path[path] == off, path
    # the guide's Value column
    img = bytes.fromhex("3200 14 02 40 20 20 05 20 20 20 20 20 28 02 0A 03 C800 17")
    v = decode(ET90, img).values()
    assert v["ip_address_length"] == 50 and v["modem_apn_length"] == 64
    assert v["nbr_ftz_messages"] == 3 and v["modem_at_command_reply_length"] == 200
    assert v["modem_sim_iccd_length"] == 23


def test_et97_offsets_against_the_guide():
    for n in (3, 1, 6):
        by_path = offsets(ET97, {"ET90.nbr_ftz_messages": n})
        a = 8 * n
        for path, off in (
            ("ftz_message_contents_array[0]", 0),
            (f"ftz_message_contents_array[{n - 1}]", a - 8),
            ("mep_1_id_comparison_mode", a), ("mep_1_id_mask", a + 1),
            ("mep_2_id_comparison_mode", a + 31), ("mep_2_id_mask", a + 32),
            ("power_boost_relay_ln", a + 62), ("mbus_ad_use_300_baud", a + 62),
            ("relays[0].group_ids[0]", a + 63), ("relays[0].mode", a + 73),
            ("relays[0].require_explicit_hb", a + 73), ("relays[0].heartbeat_interval", a + 74),
            ("relays[0].maintenance_mode_entry", a + 76),
            ("relays[0].maintenance_mode_exit", a + 76),
            ("relays[0].maintenance_mode_exit_delay", a + 77),
            ("relays[0].maintenance_mode_exit_time.hour", a + 78),
            ("relays[1].group_ids[0]", a + 80), ("security_log_interval", a + 97),
        ):
            assert by_path[path] == off, (n, path)


# ---------------------------------------------------- chains (chapter 3)


def test_unbalanced_voltage_chain_et04_sizes_et09():
    """Unbalanced voltage detection needs "no phase loss": ET09's phase loss flags,
    whose offset ET04.53 (read earlier) sets."""
    ctx = DimensionContext()
    et04 = bytearray(table_size(manufacturer.ET04))
    et04[53] = 4  # Max Power Outages Recorded
    learned = ctx.learn(decode(manufacturer.ET04, bytes(et04), full=True), frame=2)
    assert "ET04.max_power_outages_recorded" in learned
    # the client then reads the phase loss byte and the L1 record: offset 4*18+86
    off = 4 * 18 + 86
    d = decode(ET09, bytes((0b101,)) + bytes(6) + (7).to_bytes(2, "little"), off, ctx)
    v = d.values()
    assert v == {"phase_l1_loss": True, "phase_l2_loss": False, "phase_l3_loss": True,
                 "l1_most_recent_phase_loss_event": None, "l1_phase_loss_events": 7}
    assert d.dims["ET04.max_power_outages_recorded"].source == CAPTURE
    assert d.dims["ET04.max_power_outages_recorded"].frame == 2
    assert d.size == 4 * 18 + 519 and d.defaults_used == []
    # without ET04 in the capture the guide's 10 applies, and the tree says so
    d = decode(ET09, bytes(1), 10 * 18 + 86)
    assert set(d.values()) == {"phase_l1_loss", "phase_l2_loss", "phase_l3_loss"}
    assert d.defaults_used == ["ET04.max_power_outages_recorded"]


def test_partial_et04_read_is_enough():
    ctx = DimensionContext()
    ctx.learn(decode(manufacturer.ET04, bytes((2,)), 53))
    assert ctx.get("ET04", "max_power_outages_recorded") == 2
    by_path = offsets(ET09, ctx)
    assert by_path["l1_most_recent_sag1_event"] == 2 * 18 + 6
    assert "power_outage_records[2].power_on_date_time" not in by_path


def test_et90_sizes_et97_and_et89():
    ctx = DimensionContext()
    img = bytearray(27)
    img[16], img[25], img[26] = 5, 2, 8
    ctx.learn(decode(ET90, bytes(img), full=True), frame=9)
    assert table_size(ET97, ctx) == 5 * 8 + 102
    d = decode(ET97, encode(ET97, {"mep_1_id_comparison_mode": 1}, ctx), 0, ctx, full=True)
    assert d.problems == [] and d.get("mep_1_id_comparison_mode") == 1
    assert [f.slot.offset for f in d.fields if f.slot.path == "mep_1_id_comparison_mode"] == [40]
    assert d.dims["ET90.nbr_ftz_messages"].source == CAPTURE
    assert table_size(ET89, ctx) == 132 + 16 + 15
    assert offsets(ET89, ctx)["tls_port_status[0].session_state"] == 148


def test_et90_of_firmware_4_20_leaves_et89_on_defaults():
    """A 20-byte ET90 (as listed) still teaches ET97; ET89 keeps the default events."""
    ctx = DimensionContext()
    img = bytearray(20)
    img[16] = 2
    d = decode(ET90, bytes(img), full=True)
    assert any("short table" in p for p in d.problems)
    ctx.learn(d)
    assert table_size(ET97, ctx) == 2 * 8 + 102
    d89 = decode(ET89, bytes(table_size(ET89, ctx)), 0, ctx)
    assert d89.dims["ET90.nbr_pending_security_events"].source == DEFAULT
    assert d89.size == 155


# -------------------------------------------------------- windows, bad data


def test_partial_window():
    values = random_values(ET09, seed=5)
    image = encode(ET09, values)
    # cuts into the last outage record and the L2 sag1 event
    d = assert_window(ET09, image, values, 183, 40)
    assert "l1_most_recent_sag1_event" in d.values()
    assert "power_outage_records[9].power_off_duration" not in d.values()
    assert any("power_outage_records[9].power_off_duration" in p for p in d.problems)


@pytest.mark.parametrize("spec", quality.TABLES, ids=lambda s: s.tag)
def test_short_and_garbage_data_never_raise(spec):
    rng = random.Random(11)
    size = table_size(spec)
    for _ in range(60):
        n = rng.randrange(0, size + 20)
        off = rng.randrange(0, size + 10)
        dims = {"ET04.max_power_outages_recorded": rng.randrange(0, 256),
                "ET90.nbr_ftz_messages": rng.randrange(0, 256),
                "ET90.nbr_pending_security_events": rng.randrange(0, 256),
                "ET90.pending_security_event_entry_size": rng.randrange(0, 256)}
        assert_decodes_within(spec, random_bytes(rng, n), off, dims)
    d = decode(spec, bytes(3), full=True)
    assert any("short table" in p for p in d.problems)
    d = decode(spec, b"\xff" * (size + 4), full=True)
    assert any("past the end" in p for p in d.problems)


def test_units_and_enums_render():
    img = encode(ET09, {"min_frequency": 49950, "thd_records[0].thd_threshold": 123,
                        "drp_drc_event_records[0].drp": 123, "sag1_surge_time_threshold": 2,
                        "power_outage_records[0].reset_cause": 8})
    t = {f.slot.path: f.text for f in decode(ET09, img).fields}
    assert t["min_frequency"] == "49950 mHz"
    assert t["thd_records[0].thd_threshold"] == "12.3 %"
    assert t["drp_drc_event_records[0].drp"] == "12.3 %"
    assert t["sag1_surge_time_threshold"] == "2 min"
    assert t["power_outage_records[0].reset_cause"] == "Brown-out (8)"
    t = {f.slot.path: f.text for f in decode(ET89, bytes((16,)), 114).fields}
    assert t["last_validation_error"] == "Invalid signature (16)"


# ------------------------------------------- guide ambiguities (docs/guide-notes.md)


def test_note_et09_thd_event_record_is_22_bytes():
    by_path = offsets(ET09)
    b = 10 * 18
    # 18 bytes of fields, padded to 22: the next phase's record starts 22 later
    assert by_path["thd_records[0].thd_event_records[1].event_count"] == b + 151 + 22
    assert by_path["thd_records[1].thd_time_threshold"] == b + 147 + 70
    assert by_path["drp_drc_event_records[0].drp"] == b + 357


def test_note_et09_thd_time_threshold_in_seconds():
    img = encode(ET09, {"thd_records[1].thd_time_threshold": 10})
    t = {f.slot.path: f.text for f in decode(ET09, img).fields}
    assert t["thd_records[1].thd_time_threshold"] == "10 s"


def test_note_et89_status_flags_filler_from_bit_2():
    v = decode(ET89, bytes((0b11,)), 74).values()
    assert v == {"h1_device_present": True, "plc_disabled": True}


def test_note_et89_adj_log_mask_is_one_byte():
    by_path = offsets(ET89)
    assert by_path["adj_log_unread_entry_mask"] == 130
    assert {s.path: s.size for s in layout(ET89)}["adj_log_unread_entry_mask"] == 1
    assert by_path["block_remote_procedure_disconnect"] == 131  # "130+A", A = 1


def test_note_et89_pending_events_sized_by_et90_25_26():
    dims = {"ET90.nbr_pending_security_events": 2, "ET90.pending_security_event_entry_size": 6}
    by_path = offsets(ET89, dims)
    assert by_path["pending_security_event_details[1].alarm_id"] == 132 + 6
    assert "pending_security_event_details[1].minutes_to_report" not in by_path  # cut at 6
    assert by_path["tls_port_status[0].session_state"] == 132 + 12


def test_note_et89_tls_port_status_follows_the_events():
    by_path = offsets(ET89)
    assert by_path["tls_port_status[0].session_state"] == 140
    assert by_path["tls_port_status[0].tls_error"] == 141
    assert by_path["tls_port_status[2].tls_error_count"] == 140 + 10 + 3


def test_note_et90_lists_mt90_25_and_26():
    by_path = offsets(ET90)
    assert by_path["nbr_pending_security_events"] == 25
    assert by_path["pending_security_event_entry_size"] == 26


def test_note_et97_security_log_interval_is_uint16():
    by_path = offsets(ET97)
    a = 24
    assert by_path["security_log_interval"] == a + 97
    assert {s.path: s.size for s in layout(ET97)}["security_log_interval"] == 2
    assert by_path["require_tls_on_optical_port"] == a + 99
    assert by_path["require_tls_on_mep1_port"] == a + 100
    assert by_path["require_tls_on_mep2_port"] == a + 101
    v = decode(ET97, (1440).to_bytes(2, "little") + b"\x01\x00\x01", a + 97).values()
    assert v == {"security_log_interval": 1440, "require_tls_on_optical_port": True,
                 "require_tls_on_mep1_port": False, "require_tls_on_mep2_port": True}
