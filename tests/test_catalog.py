"""Table catalog: layouts against the guide's examples, round trips, windows, dimensions."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogutil import assert_decodes_within, offsets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mepshark.dissector.catalog import (
    CATALOG,
    DimensionContext,
    basic,
    decode,
    encode,
    layout,
    manufacturer,
    plan,
    procedures,
    spec_for,
    table_size,
)
from mepshark.dissector.catalog.layout import CAPTURE, DEFAULT, GIVEN
from mepshark.dissector.catalog.packets import packet_class
from mepshark.dissector.catalog.types import (
    AnsiDate,
    Bcd,
    Bits,
    Bool,
    Bytes,
    Chars,
    Int,
    LTimeDate,
    RDate,
    Set,
    STimeDate,
    Time,
    UInt,
)
from mepshark.dissector.tables import table_id

# BT21 as the meter answered in the guide's ET52/ET53 transaction example
# (third response): demand configured, 15 summations, 8 demands, 1 occurrence,
# 4 tiers, 8 present demands, 26 present values.
BT21_EXAMPLE = bytes.fromhex("3F0E0C0F080001040 81A".replace(" ", ""))
ET11_EXAMPLE = bytes.fromhex("0542240506050201 03F9".replace(" ", ""))
ET14_EXAMPLE = bytes.fromhex("00000000001101000104 2F00".replace(" ", ""))
ET15_EXAMPLE = bytes.fromhex(
    "00420001000201450001000201480001000201 0300F803 02014B0001000201".replace(" ", ""))


# ----------------------------------------------------------- guide examples


def test_bt52_appendix_b_clock():
    d = decode(basic.BT52, bytes.fromhex("0402100F3B37"))
    assert d.get("clock_calendar") == dt.datetime(2004, 2, 16, 15, 59, 55)
    assert d.fields[0].slot.offset == 0 and d.fields[0].slot.size == 6
    assert d.problems == []


def test_bt23_rc4_example_44_bytes_is_11_summations():
    # Chapter 2 reads BT23 offset 0 count 44 with the default dimensions.
    slots = [s for s in layout(basic.BT23) if s.end <= 44]
    assert [s.offset for s in slots] == list(range(0, 44, 4))
    assert slots[0].path == "fwd_active_wh_l1l2l3" and slots[-1].path == "error_counter"
    img = bytes(range(44))
    d = decode(basic.BT23, img, 0)
    assert len(d.fields) == 11 and d.problems == []
    assert d.get("fwd_active_wh_l1l2l3") == int.from_bytes(img[:4], "little")
    assert "BT21.nbr_summations" in d.defaults_used


def test_bt21_example_values():
    d = decode(basic.BT21, BT21_EXAMPLE)
    v = d.values()
    assert v["demand_reset_counter"] and v["cumulative_demand"]
    assert v["continuous_cumulative_demand"] and not v["time_remaining"]
    assert (v["nbr_summations"], v["nbr_demands"], v["nbr_occurrences"]) == (15, 8, 1)
    assert (v["nbr_tiers"], v["nbr_present_demands"], v["nbr_present_values"]) == (4, 8, 26)


def _ctx_from_bt21(raw: bytes = BT21_EXAMPLE) -> DimensionContext:
    ctx = DimensionContext()
    ctx.learn(decode(basic.BT21, raw), frame=7)
    return ctx


def test_bt23_offsets_for_reported_bt21():
    ctx = _ctx_from_bt21()
    by_path = {s.path: s for s in layout(basic.BT23, ctx)}
    assert by_path["nbr_demand_resets"].offset == 0  # A = 1
    assert by_path["fwd_active_wh_l1l2l3"].offset == 1
    assert by_path["reactive_varh_q4"].offset == 1 + 4 * 14
    b = 1 + 4 * 15
    # DmdRcd: event time (5), cumulative (4), continuous cumulative (4), demand (4)
    assert by_path["demands[0].event_time[0]"].offset == b
    assert by_path["demands[0].cumulative_demand"].offset == b + 5
    assert by_path["demands[0].contin_cum_demand"].offset == b + 5 + 4
    assert by_path["demands[0].demand[0]"].offset == b + 5 + 8
    assert by_path["demands[1].event_time[0]"].offset == b + 17
    c = b + 8 * 17
    assert by_path["tiers[0].fwd_active_wh_l1l2l3"].offset == c  # no coincidents: D = C
    assert by_path["tiers[3].demands[7].demand[0]"].offset == c + 4 * (60 + 136) - 4
    assert table_size(basic.BT23, ctx) == c + 4 * (60 + 136)
    d = decode(basic.BT23, bytes(table_size(basic.BT23, ctx)), 0, ctx)
    assert d.dims["BT21.nbr_summations"].source == CAPTURE
    assert d.dims["BT21.nbr_summations"].frame == 7
    assert d.defaults_used == []


def test_bt28_offsets_use_four_bytes_per_value():
    ctx = _ctx_from_bt21()
    by_path = {s.path: s for s in layout(basic.BT28, ctx)}
    # 8 present demands of NI_FMAT2 (no time remaining) then the values.
    assert by_path["present_demands[7].demand_value"].offset == 28
    for n, name in ((0, "fwd_active_w_l1l2l3"), (7, "rms_voltage_l1"), (11, "frequency"),
                    (25, "q4_reactive_var_l1l2l3")):
        assert by_path[name].offset == (0 + 4) * 8 + 4 * n
    assert table_size(basic.BT28, ctx) == 32 + 4 * 26
    ctx.learn_values("BT21", {"time_remaining": 1})
    by_path = {s.path: s for s in layout(basic.BT28, ctx)}
    assert by_path["present_demands[0].time_remaining"].offset == 0
    assert by_path["frequency"].offset == (3 + 4) * 8 + 4 * 11


def test_bt28_units():
    img = encode(basic.BT28, {"rms_voltage_l1": 230123, "frequency": 50012,
                              "power_factor_l1": 987, "rms_current_l1": 1500})
    d = {f.slot.path: f.text for f in decode(basic.BT28, img).fields}
    assert d["rms_voltage_l1"] == "230123 mV"
    assert d["frequency"] == "50012 mHz"
    assert d["power_factor_l1"] == "0.987"
    assert d["rms_current_l1"] == "1500 mA"


def test_et03_serial_number():
    img = b"SN-0042".ljust(30, b"\0") + bytes(107) + b"\x34\x12" + bytes(4)
    d = decode(manufacturer.ET03, img, full=True)
    assert d.get("utility_serial_number") == "SN-0042"
    assert d.get("image_crc") == 0x1234
    assert d.size == 143 and d.problems == []


def test_et11_et14_et15_transaction_example():
    d = decode(manufacturer.ET11, ET11_EXAMPLE)
    assert d.values() == {
        "nbr_devices": 5, "config_entry_size": 66, "status_entry_size": 36,
        "on_demand_request_queue_size": 5, "on_demand_request_entry_size": 6,
        "data_entry_size": 517, "transaction_request_length": 0x0301,
    }
    assert any("transaction_response_length" in p for p in d.problems)  # cut at byte 10
    ctx = DimensionContext()
    ctx.learn(d)
    s = decode(manufacturer.ET14, ET14_EXAMPLE, 0, ctx).values()
    assert s["device_1_occupied"] and s["device_5_occupied"] and not s["device_2_occupied"]
    assert s["device_status[0].device_handle"] == 1
    assert s["device_status[0].device_status"] == 1
    assert s["device_status[0].billing_read_length"] == 47
    q = decode(manufacturer.ET15, ET15_EXAMPLE, 0, ctx).values()
    assert q["request_queue[3].transaction_nbr"] == 3
    assert q["request_queue[3].device_handle"] == 0x03F8
    assert q["request_queue[4].transaction_nbr"] == 0x4B
    assert all(q[f"request_queue[{i}].result"] == 1 for i in range(5))


def test_bt07_ep17_example():
    data = bytes.fromhex("110807 00F803".replace(" ", ""))
    d = procedures.decode_request(data)
    v = d.values()
    assert v["procedure_index"] == 17 and v["mfg_flag"] and v["selector"] == 0
    assert procedures.procedure_number(v["procedure_index"], v["mfg_flag"]) == 2065
    assert v["sequence"] == 7 and v["action"] == 0 and v["device_handle"] == 0x03F8
    assert {f.slot.path: f.slot.offset for f in d.fields}["device_handle"] == 4


def test_bt08_result_codes():
    d = procedures.decode_response(bytes.fromhex("13080607 03"), tag="BT08")
    assert d.get("result_code") == 7 and d.get("entry_index") == 3
    assert procedures.result_name(7, 2067) == "On-demand request queue is full"
    assert procedures.result_name(3, 2109).startswith("T08_CONFLICT")
    assert procedures.result_name(6) == "Unrecognized procedure, procedure ignored"
    assert procedures.RESULT_CODES[0] == "Procedure completed"
    assert procedures.result_name(99).startswith("Procedure-specific")


def test_ep19_variants():
    write = procedures.request_spec(2067)
    img = encode(write, {"procedure_index": 19, "mfg_flag": True, "request_type": 4,
                         "write_data_length": 2, "write_data[0]": 0x68})
    assert "write_data[63]" in decode(write, img).values()
    img = encode(write, {"procedure_index": 19, "mfg_flag": True, "request_type": 9,
                         "image_length": 1000})
    v = decode(write, img).values()
    assert v["image_length"] == 1000 and "write_data_length" not in v


# ---------------------------------------------------- dimension context


def test_dimension_context_provenance_and_partial_learning():
    ctx = DimensionContext()
    assert ctx.lookup(basic.BT21_NBR_SUMMATIONS).source == DEFAULT
    ctx.learn(decode(basic.BT21, BT21_EXAMPLE[3:5], 3), frame=3)  # partial read
    assert ctx.get("BT21", "nbr_summations") == 15
    assert ctx.get("BT21", "nbr_tiers") is None
    got = ctx.lookup(basic.BT21_NBR_SUMMATIONS)
    assert (got.value, got.source, got.frame) == (15, CAPTURE, 3)
    d = decode(basic.BT23, bytes(80), 0, {"BT21.nbr_summations": 19})
    assert d.dims["BT21.nbr_summations"].source == GIVEN


# ----------------------------------------------------------- round trips

_DIM_RANGES = {
    "BT21.demand_reset_counter": (0, 1), "BT21.date_time_field": (0, 1),
    "BT21.cumulative_demand": (0, 1), "BT21.continuous_cumulative_demand": (0, 1),
    "BT21.time_remaining": (0, 1), "BT21.nbr_summations": (0, 22),
    "BT21.nbr_demands": (0, 3), "BT21.nbr_coincident_values": (0, 3),
    "BT21.nbr_occurrences": (0, 2), "BT21.nbr_tiers": (0, 3),
    "BT21.nbr_present_demands": (0, 3), "BT21.nbr_present_values": (0, 90),
    "BT00.manufacturer_status_length": (0, 12), "BT00.response_data_length": (0, 16),
    "ET11.nbr_devices": (0, 6), "ET11.config_entry_size": (9, 80),
    "ET11.status_entry_size": (0, 40), "ET11.on_demand_request_queue_size": (0, 6),
    "ET11.on_demand_request_entry_size": (0, 8), "ET11.data_entry_size": (8, 40),
    "ET11.on_demand_write_entry_size": (1, 30), "ET11.mbus_multicast_message_length": (1, 70),
    "ET11.mep_data_sources": (0, 20), "ET11.mep_channel_count": (0, 2),
    "ET11.reserved_32": (0, 6), "ET11.reserved_33": (0, 8),
}

dims_st = st.fixed_dictionaries({k: st.integers(lo, hi) for k, (lo, hi) in _DIM_RANGES.items()})


def leaf_st(slot):
    f = slot.field
    if isinstance(f, Bool):
        return st.booleans()
    if isinstance(f, Bits):
        w = f.hi - f.lo + 1
        if f.signed:
            return st.integers(-(1 << (w - 1)), (1 << (w - 1)) - 1)
        return st.integers(0, (1 << w) - 1)
    if isinstance(f, (UInt, Set)):
        return st.integers(0, (1 << (8 * slot.size)) - 1)
    if isinstance(f, Int):
        return st.integers(-(1 << (8 * slot.size - 1)), (1 << (8 * slot.size - 1)) - 1)
    if isinstance(f, Chars):
        return st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=slot.size)
    if isinstance(f, Bcd):
        return st.text("0123456789", min_size=2 * slot.size, max_size=2 * slot.size)
    if isinstance(f, Bytes):
        return st.binary(min_size=slot.size, max_size=slot.size)
    if isinstance(f, Time):
        return st.times().map(lambda t: t.replace(microsecond=0))
    if isinstance(f, (STimeDate, LTimeDate)):
        sec = isinstance(f, LTimeDate)
        return st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31)).map(
            lambda d: d.replace(microsecond=0, second=d.second if sec else 0))
    if isinstance(f, AnsiDate):
        return st.dates(dt.date(2000, 1, 1), dt.date(2127, 12, 31))
    if isinstance(f, RDate):
        return st.one_of(
            st.builds(lambda m, o, w, d: {"month": m, "offset": o, "weekday": w, "day": d},
                      st.integers(0, 13), st.integers(0, 15), st.integers(0, 7),
                      st.integers(0, 31)),
            st.builds(lambda w: {"month": 14, "weekday": w}, st.integers(0, 7)),
            st.builds(lambda p, d: {"month": 15, "period": p, "delta": d},
                      st.integers(0, 63), st.integers(0, 63)),
        )
    raise AssertionError(f"no strategy for {f!r}")


ALL_SPECS = sorted(CATALOG.values(), key=lambda s: s.tid) + [
    procedures.request_spec(n) for n in procedures.PROCEDURES
] + [procedures.response_spec(n, "BT08") for n in procedures.PROCEDURES]


def _draw_values(data, spec, dims, image=None):
    """Values for every slot; layouts depending on their own data settle in a few
    rounds (one per record of a record list)."""
    values: dict = {}
    sizes: dict = {}
    for _ in range(40):
        slots = plan(spec, dims, image, 0).slots if image is not None else layout(spec, dims)
        stable = True
        for s in slots:
            if sizes.get(s.path) != s.size:
                values[s.path] = data.draw(leaf_st(s), label=s.path)
                sizes[s.path] = s.size
                stable = False
        image = encode(spec, values, dims)
        if stable:
            break
    return values, image


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: f"{s.tag}:{s.name[:30]}")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(data=st.data(), dims=dims_st)
def test_round_trip_and_windows(spec, data, dims):
    values, image = _draw_values(data, spec, dims)
    full = decode(spec, image, 0, dims, full=True)
    assert full.problems == []
    got = full.values()
    for path, v in got.items():
        assert v == values[path], path
    assert set(got) == {s.path for s in plan(spec, dims, image).slots}
    # a random window decodes exactly the fields lying wholly inside it
    o = data.draw(st.integers(0, len(image)), label="offset")
    c = data.draw(st.integers(0, len(image) - o), label="count")
    part = decode(spec, image[o : o + c], o, dims)
    expect = {s.path: s.offset for s in plan(spec, dims, image[o : o + c], o).slots
              if s.offset >= o and s.end <= o + c}
    assert {f.slot.path: f.slot.offset for f in part.fields} == expect
    if not any(k.startswith(("ref:", "local:")) for k in full.dims):
        inside = {s.path for s in layout(spec, dims) if s.offset >= o and s.end <= o + c}
        assert set(expect) == inside
    refs_known = all(v.source != DEFAULT for k, v in part.dims.items()
                     if k.startswith(("ref:", "local:")))
    for f in part.fields:
        if not refs_known:  # a window without the sizing field: layout unknowable
            break
        assert f.value == got[f.slot.path]
        assert f.raw == image[f.slot.offset : f.slot.end]


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: f"{s.tag}:{s.name[:30]}")
@settings(max_examples=25, deadline=None)
@given(raw=st.binary(max_size=600), offset=st.integers(0, 3000), dims=dims_st)
def test_malformed_data_never_raises(spec, raw, offset, dims):
    assert_decodes_within(spec, raw, offset, dims)  # rendering never raises either


def test_short_data_reports_problems():
    d = decode(basic.BT52, bytes.fromhex("0402100F"), full=True)
    assert d.fields == [] and any("cut" in p for p in d.problems)
    assert any("short" in p for p in d.problems)
    d = decode(basic.BT52, bytes(9))
    assert any("past the end" in p for p in d.problems)
    d = decode(basic.BT52, bytes.fromhex("00000000000000"))
    assert d.fields[0].value is None and d.fields[0].note


def test_corrupt_dimensions_are_capped():
    big = {"BT21.nbr_tiers": 255, "BT21.nbr_summations": 255, "BT21.nbr_demands": 255,
           "BT21.nbr_occurrences": 255, "BT21.nbr_coincident_values": 255}
    p = plan(basic.BT23, big)
    assert len(p.slots) <= 20000 and p.problems


# ------------------------------------------------------------- registry


def test_catalog_ids_and_names():
    for tag in ("BT00", "BT01", "BT03", "BT07", "BT08", "BT15", "BT20", "BT21", "BT22",
                "BT23", "BT27", "BT28", "BT52", "BT55", "ET03", "ET04", "ET11", "ET13",
                "ET14", "ET15", "ET16", "ET50", "ET51", "ET52", "ET53", "ET54", "ET58",
                "ET59", "ET70"):
        spec = spec_for(tag)
        assert spec is not None and spec.tid == table_id(tag), tag
    assert {2065, 2067, 2109} <= set(procedures.PROCEDURES)


def test_abbreviations_are_wireshark_names():
    names = {s.abbrev for s in layout(basic.BT23, {"BT21.nbr_demands": 1})}
    assert "fwd_active_wh_l1l2l3" in names
    assert "tiers.fwd_active_wh_l1l2l3" in names
    assert "demands.demand" in names


# --------------------------------------------------------------- scapy


@pytest.mark.parametrize("spec", sorted(CATALOG.values(), key=lambda s: s.tid),
                         ids=lambda s: s.tag)
def test_packet_classes_build_and_dissect(spec):
    cls = packet_class(spec)
    slots = layout(spec)
    values = {s.path: (1 if isinstance(s.field, (UInt, Int, Bits, Set)) else None)
              for s in slots}
    image = encode(spec, {k: v for k, v in values.items() if v is not None})
    pkt = cls(image)
    assert bytes(pkt)[: len(image)] == image
    pkt.show(dump=True)


def test_bt52_packet_show_has_human_values():
    cls = packet_class(basic.BT52)
    text = cls(bytes.fromhex("0402100F3B3701")).show(dump=True)
    assert "2004-02-16 15:59:55" in text and "Monday (1)" in text


# ------------------------------------------- guide ambiguities (docs/guide-notes.md)


def test_note_bt01_version_is_msb_first():
    img = b"ELON" + b"MTR3000 " + bytes.fromhex("3018" "3155") + bytes.fromhex("0012345678901234")
    v = decode(basic.BT01, img).values()
    assert (v["firmware_version_major"], v["firmware_version_minor"],
            v["firmware_version_build"]) == (3, 10, 21)
    assert (v["hardware_version_major"], v["hardware_version_minor"],
            v["hardware_version_build"]) == (3, 0, 24)
    assert v["manufacturer_serial_number"] == "0012345678901234"
    assert encode(basic.BT01, v) == img


def test_note_bt28_value_65_is_positional():
    by_path = {s.path: s.offset for s in layout(basic.BT28, {"BT21.nbr_present_values": 84})}
    assert by_path["apparent_power_q3_va_l2"] == 4 * 65
    assert by_path["exp_reactive_var_c"] == 4 * 83


def test_note_et15_multicast_follows_write_messages():
    by_path = offsets(manufacturer.ET15)
    assert by_path["write_messages[0].write_data_length"] == 1 + 5 * 6
    assert by_path["multicast_data_length"] == 1 + 5 * (6 + 25)
    assert by_path["multicast_data"] == 1 + 5 * (6 + 25) + 1


def test_note_bt00_sets_sized_by_own_fields():
    img = encode(basic.BT00, {"dim_basic_tables_used": 2, "dim_extended_tables_used": 1,
                              "dim_basic_procedures_used": 1, "dim_extended_procedures_used": 1,
                              "basic_tables_used": 0x0201})
    assert len(img) == 19 + 2 + 1 + 1 + 1 + 2 + 1
    d = decode(basic.BT00, img)
    assert d.get("basic_tables_used") == 0x0201
    assert d.dims["ref:dim_basic_tables_used"].value == 2


def test_note_defaults_without_capture():
    d = decode(basic.BT28, bytes(164))
    assert d.dims["BT21.nbr_present_values"].value == 41
    assert d.dims["BT21.nbr_present_values"].source == DEFAULT
    assert table_size(manufacturer.ET13) == 5 * 66


# ------------------------------------------------- ET50/ET51/ET54/ET58/ET70


def test_et70_current_comm_channel_index():
    by_path = {s.path: s for s in layout(manufacturer.ET70)}
    s = by_path["current_comm_channel_index"]
    assert (s.offset, s.size) == (142, 1)
    assert table_size(manufacturer.ET70) == 156
    img = encode(manufacturer.ET70, {"current_comm_channel_index": 2})
    assert img[142] == 2 and img.count(0) == 155
    d = decode(manufacturer.ET70, img[142:143], 142)
    assert [f.text for f in d.fields] == ["MEP client 2 (MEP2) (2)"] and d.problems == []


def test_et50_rc4_example_2_registers_the_client():
    # Chapter 2, RC4 example 2: partial write to ET50, offset 0x1E, one byte 01.
    d = decode(manufacturer.ET50, b"\x01", 0x1E)
    v = d.values()
    assert v == {"mep_inbound_configuration[0].mep_device_registered": True,
                 "mep_inbound_configuration[0].et59_response": False,
                 "mep_inbound_configuration[0].mbus_alerts": False,
                 "mep_inbound_configuration[0].delta_data_alerts": False}
    assert d.problems == []
    for bit, name in ((1, "et59_response"), (2, "mbus_alerts"), (3, "delta_data_alerts")):
        got = decode(manufacturer.ET50, bytes([1 << bit]), 30).values()
        assert [k for k, x in got.items() if x] == [f"mep_inbound_configuration[0].{name}"]


def test_et50_offsets_and_two_clients():
    n = 6  # ET11.22 default for meters
    by_path = offsets(manufacturer.ET50)
    e = "mep_inbound_configuration[0]."
    assert by_path[e + "identification_string"] == 0
    assert by_path[e + "data_sources_icon_display_control[0]"] == 31
    assert by_path[e + "data_for_display_lp_sources[0]"] == 31 + 2 * n
    assert by_path[e + "house_icon"] == by_path[e + "short_bar"] == 31 + 6 * n
    assert by_path[e + "medium_bar"] == by_path[e + "long_bar"] == 32 + 6 * n
    assert by_path[e + "reserved"] == 33 + 6 * n
    assert by_path["mep_inbound_configuration[1].mep_device_registered"] == 35 + 6 * n + 30
    assert table_size(manufacturer.ET50) == 2 * (35 + 6 * n)
    dims = {"ET11.mep_channel_count": 1, "ET11.mep_data_sources": 20}
    assert table_size(manufacturer.ET50, dims) == 35 + 6 * 20
    img = encode(manufacturer.ET50, {e + "data_sources_icon_display_control[1]": 0x0120,
                                     e + "house_icon": 2, e + "long_bar": 1})
    d = {f.slot.path: f.text for f in decode(manufacturer.ET50, img).fields}
    assert d[e + "data_sources_icon_display_control[1]"] == "kWh, Negative (-)"
    assert d[e + "house_icon"] == "Flash (1 s on, 1 s off) (2)"
    assert d[e + "long_bar"] == "On (1)" and img[32 + 6 * n] == 0x10


def test_et51_offsets():
    by_path = {s.path: s for s in layout(manufacturer.ET51)}
    e = "mep_device_configuration[0]."
    assert {k[len(e):]: by_path[k].offset for k in by_path if k.startswith(e)} == {
        "enable_optical_dos_timer": 0, "monitor_mep_health": 0, "reset_device_down_mep": 0,
        "reset_mep_now": 0, "disable_mep": 0, "mep_health_timeout": 1,
        "on_demand_and_one_time_read_timeout": 3, "optical_session_timeout": 4,
        "optical_session_hold_off": 6, "mep_down_reset_duration": 8, "deactivate_han": 9}
    assert by_path["mep_device_configuration[1].mep_health_timeout"].offset == 11
    assert table_size(manufacturer.ET51) == 20
    # the guide's Value column: D.O.S. timer on, 60 s, 30 s, 600 s, 300 s, 1 s
    img = bytes.fromhex("013C001E5802 2C0101 00".replace(" ", ""))
    v = decode(manufacturer.ET51, img).values()
    assert v[e + "enable_optical_dos_timer"] and not v[e + "disable_mep"]
    assert (v[e + "mep_health_timeout"], v[e + "on_demand_and_one_time_read_timeout"],
            v[e + "optical_session_timeout"], v[e + "optical_session_hold_off"],
            v[e + "mep_down_reset_duration"]) == (60, 30, 600, 300, 1)
    assert decode(manufacturer.ET51, b"\x80", 0).get(e + "disable_mep") is True


def test_et54_offsets_and_bits():
    by_path = offsets(manufacturer.ET54)
    for path, off in (("multiple_mep_clients", 0), ("load_profile_disabled", 19),
                      ("over_power_threshold_exceeded", 44),
                      ("control_relay_1_random_operation_pending", 62),
                      ("control_relay_1_random_duration", 63),
                      ("control_relay_1_random_start_duration", 65),
                      ("mis_wiring_reason", 68), ("et74_entry_count", 69),
                      ("welmec_11_2_compliance", 71),
                      ("time_adjustment_in_current_lp_interval", 72),
                      ("date_last_step_tariff_reset.year", 76), ("et77_entry_count", 79),
                      ("et79_entry_count", 80), ("unicast_key_usage_count", 82),
                      ("broadcast_key_usage_count", 86), ("security_mode_rc4", 90),
                      ("module_records[0]", 91), ("module_records[5]", 91 + 5 * 7),
                      ("external_tamper_input_raw_adc", 95 + 42), ("mep_tx_locked", 97 + 42),
                      ("mep_tx_lock_channel", 98 + 42),
                      ("procedure_extended_failure_code", 99 + 42),
                      ("control_relay_2_random_operation_pending", 103 + 42),
                      ("control_relay_2_random_duration", 104 + 42),
                      ("control_relay_2_random_start_duration", 106 + 42)):
        assert by_path[path] == off, path
    assert table_size(manufacturer.ET54) == 108 + 6 * 7
    v = decode(manufacturer.ET54, bytes.fromhex("C001"), 0).values()
    assert v["energy_unit_change"] and v["lcd_value_id_code_5_digit_support"]
    assert v["multiple_mep_clients"] and not v["multiple_load_profile_data_set_support"]
    v = decode(manufacturer.ET54, bytes([0x45]), 71).values()  # bits 0, 2 and 6
    assert v["welmec_11_2_compliance"] and v["delta_time_synchronization_status"] == 2
    assert v["disconnect_push_button_close_temporarily_locked"]
    v = decode(manufacturer.ET54, bytes([0x05]), 90).values()  # the guide's value 0x05
    assert v == {"security_mode_rc4": True, "security_mode_osgp_aes_128_psk": True}
    v = decode(manufacturer.ET54, bytes.fromhex("07003E08"), 141).values()  # EP62 = 2110
    assert (v["procedure_extended_failure_procedure"], v["procedure_extended_failure_code"]) == (
        0x083E, 7)


def test_et58_entries():
    by_path = offsets(manufacturer.ET58)
    assert by_path["device_status[0].control_status"] == 0
    assert by_path["device_status[4].control_status"] == 4 * 20
    assert table_size(manufacturer.ET58) == 5 * 20
    assert table_size(manufacturer.ET58, {"ET11.nbr_devices": 6}) == 6 * 20


def test_note_et54_flags_word_then_reserved_from_21():
    by_path = {s.path: s for s in layout(manufacturer.ET54)}
    flags = by_path["load_profile_disabled"]
    assert (flags.offset, flags.size) == (19, 2)
    assert (by_path["reserved_21"].offset, by_path["reserved_21"].size) == (21, 23)
    assert by_path["over_power_threshold_exceeded"].offset == 44


def test_note_et54_module_records_sized_by_et11_32_33():
    by_path = {s.path: s for s in layout(manufacturer.ET54)}
    assert [by_path[f"module_records[{i}]"].size for i in range(6)] == [7] * 6
    assert by_path["reserved_after_modules"].offset == 91 + 42
    assert by_path["reserved_after_modules"].size == 4
    dims = {"ET11.reserved_32": 0, "ET11.reserved_33": 0}
    assert table_size(manufacturer.ET54, dims) == 108
    d = decode(manufacturer.ET54, bytes(91), full=True)  # a 3.x meter's table
    assert d.get("security_mode_rc4") is False and any("short" in p for p in d.problems)


def test_note_et54_date_is_three_bytes():
    img = encode(manufacturer.ET54, {"date_last_step_tariff_reset.year": 24,
                                     "date_last_step_tariff_reset.month": 3,
                                     "date_last_step_tariff_reset.day": 31})
    assert img[76:79] == bytes((24, 3, 31)) and img[79] == 0


def test_note_et50_et51_default_two_clients():
    d = decode(manufacturer.ET51, bytes(20), full=True)
    assert d.dims["ET11.mep_channel_count"].value == 2 and d.problems == []
    assert "ET11.mep_channel_count" in d.defaults_used
    d = decode(manufacturer.ET50, bytes(142), full=True)
    assert d.dims["ET11.mep_data_sources"].value == 6 and d.problems == []
    one = {"ET11.mep_channel_count": 1}
    assert table_size(manufacturer.ET51, one) == 10
    assert table_size(manufacturer.ET50, one) == 71


def test_note_et58_reserved_is_19_bytes():
    by_path = {s.path: s for s in layout(manufacturer.ET58)}
    assert (by_path["device_status[0].reserved"].offset,
            by_path["device_status[0].reserved"].size) == (1, 19)
    assert by_path["device_status[1].control_status"].offset == 20


def test_note_et70_uses_the_firmware_4_column():
    slots = layout(manufacturer.ET70)
    assert [(s.path, s.offset, s.size) for s in slots] == [
        ("reserved", 0, 142), ("current_comm_channel_index", 142, 1), ("reserved_143", 143, 13)]


def test_et04_after_neuron_state():
    by_path = offsets(manufacturer.ET04)
    for path, off in (("neuron_state", 72), ("phase_rotation_changed", 73),
                      ("plc_comm_inactive_time_threshold", 74), ("broadcast_receipt", 76),
                      ("broadcast_base", 82), ("reverse_energy_alarm_current_threshold", 88),
                      ("plc_signal_quality_status", 90), ("auto_discovery_ta", 91),
                      ("amplifier_gain_detect_sensitivity", 96), ("nvm_size", 100),
                      ("mep_seq_nbr", 103), ("premise_power_generation", 109),
                      ("meter_form", 112), ("c12_19_compliance", 114), ("tilt_timer", 117),
                      ("min_registration_current", 118), ("constant_phase_loss_alarm", 121),
                      ("maximum_key_usage_count", 123), ("security_mode", 127),
                      ("fcm_message_count", 128), ("mep_sequence_numbers[1]", 133),
                      ("reverse_energy_alarm_time_threshold_ms", 137),
                      ("reverse_energy_alarm_time_threshold_s", 138)):
        assert by_path[path] == off, path
    assert table_size(manufacturer.ET04) == 140
    # the guide's Value column: 1000 mA at 88, 72 % at 110, 61 % at 111, 10 s at 138
    d = decode(manufacturer.ET04, bytes.fromhex("E803"), 88)
    assert d.fields[0].text == "1000 mA"
    v = decode(manufacturer.ET04, bytes((72, 61)), 110).values()
    assert v == {"power_outage_detection_threshold": 72, "phase_loss_threshold": 61}
    d = decode(manufacturer.ET04, bytes((17,)), 120)
    assert d.fields[0].text == "1.7 mA"
    assert decode(manufacturer.ET04, b"\x0A\x00", 138).get(
        "reverse_energy_alarm_time_threshold_s") == 10


def test_note_et04_meter_form_letters_are_ascii():
    d = decode(manufacturer.ET04, b"S", 112)
    assert d.fields[0].text == "S-base (83)"
    assert decode(manufacturer.ET04, b"A", 112).fields[0].text == "A-base (65)"
