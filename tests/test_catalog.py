"""Table catalog: layouts against the guide's examples, round trips, windows, dimensions."""

from __future__ import annotations

import datetime as dt

import pytest
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
    """Values for every slot; layouts depending on their own data settle in two rounds."""
    values: dict = {}
    sizes: dict = {}
    for _ in range(4):
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
    if not any(k.startswith("ref:") for k in full.dims):
        inside = {s.path for s in layout(spec, dims) if s.offset >= o and s.end <= o + c}
        assert set(expect) == inside
    refs_known = all(v.source != DEFAULT for k, v in part.dims.items() if k.startswith("ref:"))
    for f in part.fields:
        if not refs_known:  # a window without the sizing field: layout unknowable
            break
        assert f.value == got[f.slot.path]
        assert f.raw == image[f.slot.offset : f.slot.end]


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: f"{s.tag}:{s.name[:30]}")
@settings(max_examples=25, deadline=None)
@given(raw=st.binary(max_size=600), offset=st.integers(0, 3000), dims=dims_st)
def test_malformed_data_never_raises(spec, raw, offset, dims):
    d = decode(spec, raw, offset, dims, full=True)
    for f in d.fields:
        assert f.slot.offset >= offset and f.slot.end <= offset + len(raw)
        f.text  # rendering never raises either  # noqa: B018


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
                "ET14", "ET15", "ET16", "ET52", "ET53", "ET59"):
        spec = spec_for(tag)
        assert spec is not None and spec.tid == table_id(tag), tag
    assert set(procedures.PROCEDURES) == {2065, 2067, 2109}


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
    by_path = {s.path: s.offset for s in layout(manufacturer.ET15)}
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
