"""ET23, ET29 and ET55: offsets against the guide, round trips, windows, bad data."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from catalogutil import (
    assert_decodes_within,
    assert_round_trip,
    offsets,
    random_bytes,
    random_values,
)

from mepshark.dissector.catalog import (
    DimensionContext,
    basic,
    decode,
    encode,
    layout,
    meterconfig,
    spec_for,
    table_size,
)
from mepshark.dissector.catalog.layout import CAPTURE, DEFAULT

ET23, ET29, ET55 = meterconfig.ET23, meterconfig.ET29, meterconfig.ET55
GEN3 = {"BT01.firmware_version_major": 3}
GEN4 = {"BT01.firmware_version_major": 4}
MODULE = {"BT01.firmware_version_major": 1}  # Control Point/OSGP Module firmware 1.x


# ------------------------------------------------------------------ registry


def test_registered_with_guide_ids():
    assert meterconfig.TABLES == (ET23, ET29, ET55)
    for tag, tid in (("ET23", 2071), ("ET29", 2077), ("ET55", 2103)):
        assert spec_for(tag) is spec_for(tid) is getattr(meterconfig, tag)


# ------------------------------------------------------------- round trips

DIM_CASES = [None, GEN3, GEN4, MODULE, {**GEN3, "BT20.nbr_tiers": 8},
             {**GEN4, "BT20.nbr_tiers": 1}, {"BT20.nbr_tiers": 0}]


@pytest.mark.parametrize("spec", meterconfig.TABLES, ids=lambda s: s.tag)
@pytest.mark.parametrize("dims", DIM_CASES, ids=str)
@pytest.mark.parametrize("seed", range(4))
def test_round_trip(spec, dims, seed):
    assert_round_trip(spec, random_values(spec, dims, seed), dims)


# ------------------------------------------------------------------- sizes


def test_sizes():
    assert table_size(ET23) == 218 and table_size(ET23, GEN3) == 186
    assert table_size(ET23, MODULE) == 186
    assert table_size(ET29) == 54 and table_size(ET29, GEN3) == 20
    # A = 147 (146) + 4 * (BT20.7 - 1); Gen 4 ends at A+62, others at A+40
    assert table_size(ET55) == 147 + 4 * 3 + 62 == 221
    assert table_size(ET55, GEN3) == 146 + 4 * 3 + 40 == 198
    assert table_size(ET55, {**GEN4, "BT20.nbr_tiers": 8}) == 147 + 4 * 7 + 62
    assert table_size(ET55, {**GEN3, "BT20.nbr_tiers": 8}) == 146 + 4 * 7 + 40


# ------------------------------------------------------------- ET23 / ET29


def test_et23_offsets_and_values():
    by_path = offsets(ET23)
    assert by_path == {"lontalk_messages_received": 0, "lontalk_messages_validated": 4,
                       "reserved_8": 8, "disconnect_internal_status": 94,
                       "active_calendar_id": 95, "reserved_99": 99}
    img = encode(ET23, {"lontalk_messages_received": 70000, "disconnect_internal_status": 2,
                        "active_calendar_id": 0x1234})
    d = {f.slot.path: f.text for f in decode(ET23, img).fields}
    assert d["lontalk_messages_received"] == "70000"
    assert d["disconnect_internal_status"] == "Opened (2)"
    assert d["active_calendar_id"] == "0x00001234"


def test_et29_offsets():
    by_path = offsets(ET29)
    for path, off in (("so_kyz_output", 0), ("mep_client_1_port", 0), ("mep_client_2_port", 0),
                      ("reserved_3", 3), ("single_phase", 5), ("power_boost_relay", 5),
                      ("reserved_6", 6), ("reserved_20", 20),
                      ("comm_assignment_matrix_1[0].board", 24),
                      ("comm_assignment_matrix_1[1].board", 27),
                      ("comm_assignment_matrix_1[2].sequence_number", 32),
                      ("two_disconnect_sensors", 33), ("battery_type", 33),
                      ("control_relay_2_type", 33), ("reserved_37", 37), ("line", 47),
                      ("neutral", 47), ("comm_assignment_matrix_2[0].board", 48),
                      ("comm_assignment_matrix_2[1].port", 52)):
        assert by_path[path] == off, path
    assert {s.path: s.size for s in layout(ET29)}["control_relay_2_type"] == 4
    assert max(offsets(ET29, GEN3).values()) == 6  # 4.0+ fields absent on 3.X


def test_et29_bits():
    # bit 10 (MEP client 1 port) and bit 23 (MEP client 2 port, "ET29.0.23")
    v = decode(ET29, bytes((0x00, 0x04, 0x80)), 0).values()
    assert [k for k, x in v.items() if x] == ["mep_client_1_port", "mep_client_2_port"]
    v = decode(ET29, (0x0EC2).to_bytes(4, "little"), 33).values()  # bits 1, 6, 7, 9, 10, 11
    assert v["disconnect_toggle_button"] and v["battery_type"] == 2 and v["earth_fault"]
    assert v["external_tamper_input_2"] and v["s0_pulse_output_2"] and v["security_chip"]
    assert not (v["two_disconnect_sensors"] or v["buzzer"] or v["external_tamper_input_1"])
    d = {f.slot.path: f.text for f in decode(ET29, bytes((0x41,)), 47).fields}
    assert d == {"line": "PCB coil (1)", "neutral": "Earth fault transformer (2)"}
    d = {f.slot.path: f.text for f in decode(ET29, bytes.fromhex("010101 030302"), 24).fields}
    assert d["comm_assignment_matrix_1[0].port"] == "MEP port (1)"
    assert d["comm_assignment_matrix_1[1].board"] == "PLC board (3)"
    assert d["comm_assignment_matrix_1[1].sequence_number"] == "2"


# -------------------------------------------------------------------- ET55

# (path, offset in the 3.X/CPM column, offset in the 4.0+ column), BT20.7 = 4: A = 158 / 159
ET55_GUIDE_OFFSETS = [
    ("consumption_based_tariff_enabled", 3, 3), ("step_tariff_enabled", 3, 3),
    ("delta_time_adjustment_increment", 4, 4), ("signal_strength_threshold", 14, 14),
    ("plc_active_timeout", 15, 15), ("plc_failed_authentication_lockout_threshold", 20, 20),
    ("optical_failed_authentication_lockout_duration", 23, 23),
    ("scheduled_lcd_message_id", 52, 52),
    ("scheduled_lcd_message_id_decimal_point_state", 56, 57),
    ("scheduled_lcd_message_text", 57, 58),
    ("scheduled_lcd_message_display_start_time", 65, 66),
    ("scheduled_lcd_message_display_end_time", 71, 72),
    ("disable_message_override", 77, 78),
    ("disable_scheduled_lcd_message_in_scrolling_list", 77, 78),
    ("phase_loss_threshold_seconds", 78, 79), ("disable_step_tariff", 80, 81),
    ("over_power_threshold", 81, 82), ("over_power_time_threshold", 85, 86),
    ("over_power_threshold_tier", 87, 88), ("over_power_source", 88, 89),
    ("reserved_90", 89, 90), ("transformer_secondary_rated_current", 93, 94),
    ("clock_error_calendar_id", 94, 95), ("over_power_calendar_id", 98, 99),
    ("reserved_103", 102, 103), ("general_cover_removed_detection_threshold", 103, 104),
    ("power_quality_cover_removed_detection_threshold", 105, 106),
    ("subsequent_power_outage", 107, 108), ("primary_load_profile_index", 109, 110),
    ("high_frequency_noise_detection_threshold", 110, 111),
    ("high_frequency_noise_detection_time_threshold", 112, 113),
    ("earth_fault_detection_current_threshold", 114, 115), ("reserved_117", 116, 117),
    ("earth_fault_time_threshold", 117, 118),
    ("broken_mv_conductor_detection_time_threshold", 119, 120),
    ("zero_fault_detection_time_threshold", 121, 122), ("normal_voltage_upper_limit", 123, 124),
    ("low_voltage_higher_limit", 125, 126), ("voltage_fluctuation_limit", 126, 127),
    ("prepay_tier_5_8_rates[0]", 128, 129), ("prepay_tier_5_8_rates[3]", 140, 141),
    ("reverse_energy_alarm_current_threshold", 144, 145),
    ("step_tariff_thresholds[0]", 146, 147), ("step_tariff_thresholds[2]", 154, 155),
    ("step_tariff_source", 158, 159), ("step_tariff_tou_id", 158 + 1, 159 + 1),
    ("step_tariff_reset_day", 158 + 5, 159 + 5), ("step_tariff_reset_second", 158 + 8, 159 + 8),
    ("reserved_a9", 158 + 9, 159 + 9),
    ("nbr_mains_cycles_used_for_consecutive_rms_voltage_calculation", 158 + 10, 159 + 10),
    ("nbr_seconds_for_average_rms_voltage_calculations", 158 + 12, 159 + 12),
    ("nbr_average_rms_voltage_used_for_nlc_and_nlp_calculation", 158 + 14, 159 + 14),
    ("delta_adsup", 158 + 16, 159 + 16), ("delta_prinf", 158 + 28, 159 + 28),
    ("mvd_detection_time_threshold_lower_limit", 158 + 32, 159 + 32),
    ("mvd_detection_time_threshold_upper_limit", 158 + 34, 159 + 34),
    ("mvd_interruption_sag_low_vrms_threshold", 158 + 36, 159 + 36),
    ("mvd_swell_low_vrms_threshold", 158 + 38, 159 + 38),
    ("energy_register_unit", 158 + 39, 159 + 39),
]

ET55_GEN4_ONLY = [  # the 4.0+ column's A+n offsets, A = 159
    ("house_icon_control", 40), ("mbus_discovery_auto_confirmation", 40),
    ("enable_optical_dos_timer", 41), ("disable_optical_port", 41),
    ("optical_session_timeout", 42), ("optical_session_hold_off", 44),
    ("external_tamper_1_in_use", 46), ("external_tamper_2_in_use", 46),
    ("vtamper12_adc", 47), ("vtamper2_adc", 49), ("vtamper1_adc", 51),
    ("external_tamper_duration", 53), ("general_cover_removed_detection_threshold_2", 54),
    ("magnetic_tamper_duration", 56), ("va_power_and_energy_calculation_method", 58),
    ("bev_load_profile_lock_mode", 59),
    ("most_significant_byte_for_reverse_energy_alarm_current_threshold", 61),
]


def test_et55_offsets_both_columns():
    gen3, gen4 = offsets(ET55, GEN3), offsets(ET55, GEN4)
    assert offsets(ET55) == gen4  # Gen 4 by default
    assert offsets(ET55, MODULE) == gen3
    for path, off3, off4 in ET55_GUIDE_OFFSETS:
        assert (gen3[path], gen4[path]) == (off3, off4), path
    for path, n in ET55_GEN4_ONLY:
        assert gen4[path] == 159 + n, path
        assert path not in gen3
    sizes = {s.path: s.size for s in layout(ET55)}
    assert sizes["scheduled_lcd_message_id"] == 5
    assert {s.path: s.size for s in layout(ET55, GEN3)}["scheduled_lcd_message_id"] == 4
    assert sizes["bev_load_profile_lock_mode"] == 2 and sizes["subsequent_power_outage"] == 2


def test_et55_a_follows_bt20_tiers():
    for tiers in (1, 4, 8):
        for dims, base in ((GEN3, 146), (GEN4, 147)):
            by_path = offsets(ET55, {**dims, "BT20.nbr_tiers": tiers})
            a = base + 4 * (tiers - 1)
            assert by_path["step_tariff_source"] == a
            assert by_path["energy_register_unit"] == a + 39
            assert sum(p.startswith("step_tariff_thresholds[") for p in by_path) == tiers - 1


def test_et55_values_and_rendering():
    # the guide's Value column where it gives one
    values = {"delta_time_adjustment_increment": 1, "plc_active_timeout": 60,
              "phase_loss_threshold_seconds": 10, "transformer_secondary_rated_current": 1,
              "general_cover_removed_detection_threshold": 10,
              "power_quality_cover_removed_detection_threshold": 10,
              "broken_mv_conductor_detection_time_threshold": 600,
              "zero_fault_detection_time_threshold": 10, "normal_voltage_upper_limit": 115,
              "normal_voltage_lower_limit": 85, "low_voltage_higher_limit": 60,
              "voltage_fluctuation_limit": 5, "reverse_energy_alarm_current_threshold": 1000,
              "step_tariff_reset_day": 1,
              "nbr_mains_cycles_used_for_consecutive_rms_voltage_calculation": 15,
              "nbr_seconds_for_average_rms_voltage_calculations": 600,
              "nbr_average_rms_voltage_used_for_nlc_and_nlp_calculation": 1008,
              "mvd_detection_time_threshold_lower_limit": 1,
              "mvd_detection_time_threshold_upper_limit": 180,
              "mvd_interruption_sag_low_vrms_threshold": 10, "mvd_sag_high_vrms_threshold": 90,
              "mvd_swell_low_vrms_threshold": 110, "energy_register_unit": 1,
              "optical_session_timeout": 600, "optical_session_hold_off": 300,
              "external_tamper_1_in_use": True, "external_tamper_2_in_use": True,
              "external_tamper_duration": 5, "general_cover_removed_detection_threshold_2": 10,
              "magnetic_tamper_duration": 10, "house_icon_control": 2,
              "over_power_source": 2, "step_tariff_source": 3,
              "scheduled_lcd_message_id": "FTA01", "scheduled_lcd_message_text": "HELLO 42",
              "scheduled_lcd_message_id_decimal_point_state": 0b10001,
              "scheduled_lcd_message_display_start_time": dt.datetime(2024, 3, 31, 2, 0, 0)}
    img = encode(ET55, values)
    assert img[52:57] == b"FTA01" and img[58:66] == b"HELLO 42"
    assert img[66:72] == bytes((24, 3, 31, 2, 0, 0))
    d = decode(ET55, img, full=True)
    assert d.problems == [] and {k: d.get(k) for k in values} == values
    text = {f.slot.path: f.text for f in d.fields}
    assert text["plc_active_timeout"] == "60 min"
    assert text["reverse_energy_alarm_current_threshold"] == "1000 mA"
    assert text["over_power_source"] == "Forward - reverse power (2)"
    assert text["step_tariff_source"] == "Fwd - Rev Active Wh L1L2L3 (3)"
    assert text["house_icon_control"] == "MEP client 2 (MEP2) (2)"
    assert text["energy_register_unit"] == "1 Wh/varh (1)"
    assert text["normal_voltage_upper_limit"] == "115 %"
    assert text["scheduled_lcd_message_id_decimal_point_state"] == (
        "Right-most character, 5th character from the right (Gen 4)")
    assert text["scheduled_lcd_message_display_start_time"] == "2024-03-31 02:00:00"


def test_et55_flag_bytes():
    v = decode(ET55, bytes((0x22,)), 3).values()  # bits 1 and 5
    assert v == {"consumption_based_tariff_enabled": True, "step_tariff_enabled": True}
    v = decode(ET55, bytes((0x0B,)), 81).values()  # guide default bit 0 TRUE (reserved)
    assert v == {"disable_consumption_based_tariff": True, "disable_step_tariff": True}
    v = decode(ET55, bytes((0x06,)), 78).values()
    assert v == {"disable_message_override": False, "message_overridden": True,
                 "disable_scheduled_lcd_message_in_scrolling_list": True}
    v = decode(ET55, bytes((0x0C, 0x00)), 108).values()
    assert [k for k, x in v.items() if x] == ["subsequent_power_outage",
                                               "preceding_or_coincident_power_outage"]


# ---------------------------------------------------- windows and bad data


def test_partial_window_gen4_optical_settings():
    # A+41..A+45: optical flags, session timeout 600 s, hold-off 300 s
    d = decode(ET55, bytes.fromhex("01 5802 2C01".replace(" ", "")), 159 + 41)
    assert d.values() == {"enable_optical_dos_timer": True, "disable_optical_port": False,
                          "optical_session_timeout": 600, "optical_session_hold_off": 300}
    assert d.problems == []
    assert [f.text for f in d.fields][2:] == ["600 s", "300 s"]


def test_partial_window_cuts_fields():
    img = encode(ET55, {"over_power_threshold": 12345, "over_power_time_threshold": 30})
    d = decode(ET55, img[84:88], 84)  # cuts the UINT32 at 82, holds 86..87
    assert d.values() == {"over_power_time_threshold": 30}
    assert any("over_power_threshold at 82..85 cut" in p for p in d.problems)


def test_short_and_garbage_data_never_raise():
    rng = random.Random(5)
    for spec in meterconfig.TABLES:
        for dims in (None, GEN3):
            size = table_size(spec, dims)
            d = decode(spec, bytes(size // 2), 0, dims, full=True)
            assert any("short" in p for p in d.problems)
            assert all(f.slot.end <= size // 2 for f in d.fields)
            for _ in range(20):
                off = rng.randrange(size + 20)
                assert_decodes_within(spec, random_bytes(rng, rng.randrange(300)), off, dims)
            d = decode(spec, bytes(size + 3), 0, dims)
            assert any("past the end" in p for p in d.problems)
    # invalid date bytes decode to None with a note
    d = decode(ET55, b"\xff" * 6, 66)
    assert d.fields[0].value is None and d.fields[0].note


# --------------------------------------- guide ambiguities (docs/guide-notes.md)


def test_note_meterconfig_generation_from_bt01():
    # X = 1 (Gen 4) from BT01's firmware major >= 4; default Gen 4 without BT01.
    d = decode(ET55, bytes(221), full=True)
    assert d.dims["BT01.firmware_version_major"].source == DEFAULT and d.problems == []
    ctx = DimensionContext()
    bt01 = b"ELON" + b"MTR3000 " + bytes.fromhex("3018" "3155") + bytes(8)  # firmware 3.10
    ctx.learn(decode(basic.BT01, bt01), frame=4)
    assert table_size(ET55, ctx) == 198 and table_size(ET23, ctx) == 186
    assert table_size(ET29, ctx) == 20
    d = decode(ET55, bytes(198), 0, ctx, full=True)
    assert d.problems == [] and d.dims["BT01.firmware_version_major"].source == CAPTURE
    ctx.learn(decode(basic.BT01, bt01[:14] + bytes.fromhex("4020") + bytes(8)))  # 4.1.0
    assert table_size(ET55, ctx) == 221


def test_note_et55_delta_time_adjustment_at_4_in_both_columns():
    for dims in (GEN3, GEN4):
        by_path = {s.path: s for s in layout(ET55, dims)}
        assert by_path["delta_time_adjustment_increment"].offset == 4
        assert (by_path["reserved_5"].offset, by_path["reserved_5"].size) == (5, 9)


def test_note_et55_reserved_17_is_three_bytes():
    by_path = {s.path: s for s in layout(ET55)}
    assert (by_path["reserved_17"].offset, by_path["reserved_17"].size) == (17, 3)
    assert by_path["plc_failed_authentication_lockout_threshold"].offset == 20
    assert (by_path["reserved_24"].offset, by_path["reserved_24"].end) == (24, 52)


def test_note_et55_unlisted_byte_before_prepay_rates():
    for dims, limit, rates in ((GEN3, 126, 128), (GEN4, 127, 129)):
        by_path = offsets(ET55, dims)
        assert by_path["voltage_fluctuation_limit"] == limit
        assert by_path["reserved_128"] == limit + 1
        assert by_path["prepay_tier_5_8_rates[0]"] == rates


def test_note_et55_signal_strength_is_raw_uint8():
    d = decode(ET55, bytes((0xAC,)), 14)
    assert d.fields[0].value == 172 and d.fields[0].text == "172"
    assert "-84 dB" in d.fields[0].slot.field.desc


def test_note_et55_pq_events_mask_follows_mep_guide():
    # The optical guide's notation example says "ET55.104.2"; the MEP guide's table
    # puts the mask at 107 (3.X) / 108 (4.0+), between the CRDTs at 103/105 and 109.
    assert offsets(ET55, GEN3)["subsequent_power_outage"] == 107
    assert decode(ET55, bytes((0x04, 0)), 108).get("subsequent_power_outage") is True
    assert decode(ET55, bytes((0x04, 0)), 104).fields[0].slot.path == (
        "general_cover_removed_detection_threshold")


def test_note_et55_energy_register_unit_at_a_plus_39():
    by_path = offsets(ET55)
    assert by_path["energy_register_unit"] - by_path["step_tariff_source"] == 39
    assert by_path["mvd_swell_low_vrms_threshold"] + 1 == by_path["energy_register_unit"]


def test_note_et55_step_tariff_thresholds_bt20_default_4():
    d = decode(ET55, bytes(221), full=True)
    assert d.dims["BT20.nbr_tiers"].value == 4
    assert "BT20.nbr_tiers" in d.defaults_used
    assert table_size(ET55, {"BT20.nbr_tiers": 0}) == 221 - 12  # no thresholds, no error


def test_note_et55_second_general_crdt():
    by_path = offsets(ET55)
    assert by_path["general_cover_removed_detection_threshold"] == 104
    assert by_path["general_cover_removed_detection_threshold_2"] == 159 + 54


def test_note_et29_hardware_options_three_bytes_reserved_3_4():
    by_path = {s.path: s for s in layout(ET29)}
    assert (by_path["so_kyz_output"].offset, by_path["so_kyz_output"].size) == (0, 3)
    assert (by_path["reserved_3"].offset, by_path["reserved_3"].size) == (3, 2)
    assert by_path["single_phase"].offset == 5


def test_note_et29_matrix2_logical_port_offsets():
    by_path = offsets(ET29)
    assert by_path["comm_assignment_matrix_2[0].logical_port_number"] == 50
    assert by_path["comm_assignment_matrix_2[1].logical_port_number"] == 53
    d = {f.slot.path: f.text for f in decode(ET29, bytes.fromhex("040401 050302"), 48).fields}
    assert d["comm_assignment_matrix_2[0].board"] == "Modem board (4)"
    assert d["comm_assignment_matrix_2[1].port"] == "PLC port (3)"
    assert d["comm_assignment_matrix_2[1].logical_port_number"] == "2"


def test_note_et29_line_sensor_default_2_unknown():
    d = {f.slot.path: f.text for f in decode(ET29, bytes((0x42,)), 47).fields}
    assert d == {"line": "Unknown (2)", "neutral": "Earth fault transformer (2)"}


def test_note_et23_reserved_tail_by_generation():
    for dims, end in ((GEN4, 218), (GEN3, 186), (MODULE, 186)):
        tail = {s.path: s for s in layout(ET23, dims)}["reserved_99"]
        assert (tail.offset, tail.end) == (99, end)
