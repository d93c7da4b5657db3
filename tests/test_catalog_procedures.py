"""Procedure catalog: every procedure the guides mention, its parameters
(BT07 from offset 3), response data (BT08/ET59/ET85 from offset 4) and result codes."""

from __future__ import annotations

import datetime as dt

import pytest

from mepshark.dissector.catalog import decode, encode, layout, plan, procedures, table_size
from mepshark.dissector.catalog.procedure_calls import EP39_TYPES as CALL_EP39_TYPES
from mepshark.dissector.catalog.procedure_calls import bt07_image, ep39_params, procedure_id
from mepshark.dissector.catalog.procedures import (
    GUIDE_LAYOUTS,
    MFG_BASE,
    PROCEDURES,
    REQUEST_HEADER_SIZE,
    RESPONSE_HEADER_SIZE,
    decode_request,
    decode_response,
    procedure_parts,
    request_spec,
    response_spec,
    result_name,
)
from mepshark.dissector.catalog.types import (
    Bits,
    Bool,
    Bytes,
    Chars,
    Int,
    Rest,
    STimeDate,
    UInt,
)

NUMBERS = sorted(PROCEDURES)
IDS = [PROCEDURES[n].tag for n in NUMBERS]


def _value(slot, k: int):
    """A distinct, encodable value for ``slot`` (k: its position)."""
    f, n = slot.field, slot.size
    if isinstance(f, UInt):
        return (0x5A + 7 * k) % (256**n)
    if isinstance(f, Int):
        return -1 - k
    if isinstance(f, Bool):
        return k % 2 == 0
    if isinstance(f, Bits):
        return (k + 1) % (1 << (f.hi - f.lo + 1))
    if isinstance(f, STimeDate):
        return dt.datetime(2024, 2, 29, 13, 45)
    if isinstance(f, Chars):
        return "AB"[: n]
    if isinstance(f, Bytes):
        return bytes((k + i) % 256 for i in range(n))
    raise TypeError(f)


def _round_trip(spec, fixed: dict, tail: bytes = b""):
    """values -> encode -> decode for every slot; ``tail`` fills a Rest field."""
    img = encode(spec, fixed)
    slots = plan(spec, None, img).slots
    values = {s.path: _value(s, k) for k, s in enumerate(slots) if s.size}
    values.update(fixed)
    img = encode(spec, values) + tail
    d = decode(spec, img)
    assert d.problems == []
    got = d.values()
    for path, v in values.items():
        assert got[path] == v, path
    return d


def _header(number: int) -> dict:
    return {**procedure_parts(number), "sequence": 7}


def _variants(proc) -> list[dict]:
    """Parameter values that select each branch of a procedure's layout."""
    if proc.tag == "EP19":
        return [{"request_type": t} for t in (2, 4, 9)]
    if proc.tag == "BP15":
        return [{"ped.event_code": c} for c in (0, 1, 2)]
    return [{}]


# ------------------------------------------------------------- round trips


@pytest.mark.parametrize("number", NUMBERS, ids=IDS)
def test_request_round_trip(number):
    proc = PROCEDURES[number]
    spec = request_spec(number)
    opaque = any(isinstance(f, Bytes) and isinstance(f.n, Rest) for f in proc.params)
    for extra in _variants(proc):
        tail = bytes(range(1, 10)) if opaque else b""
        d = _round_trip(spec, {**_header(number), **extra}, tail)
        assert procedures.procedure_number(d.get("procedure_index"), d.get("mfg_flag")) == number
        if opaque:
            assert d.get("parameters") == tail
        # decode_request finds the procedure from the header alone
        img = encode(spec, {**_header(number), **extra}) + tail
        assert decode_request(img).values() == decode(spec, img).values()


@pytest.mark.parametrize("tag", ["BT08", "ET59", "ET85"])
@pytest.mark.parametrize("number", NUMBERS, ids=IDS)
def test_response_round_trip(number, tag):
    spec = response_spec(number, tag)
    assert spec.tag == tag
    fixed = {**_header(number), "result_code": 1}
    d = _round_trip(spec, fixed)
    assert d.get("result_code") == 1 and d.get("sequence") == 7
    img = encode(spec, fixed)
    assert decode_response(img, tag=tag).values() == decode(spec, img).values()


# ------------------------------------------------------------------ offsets


@pytest.mark.parametrize("number", NUMBERS, ids=IDS)
def test_parameters_at_3_response_at_4(number):
    proc = PROCEDURES[number]
    req = [s for s in layout(request_spec(number)) if s.offset >= REQUEST_HEADER_SIZE]
    head = [s for s in layout(request_spec(number)) if s.offset < REQUEST_HEADER_SIZE]
    assert [s.path for s in head] == ["procedure_index", "mfg_flag", "selector", "sequence"]
    if proc.params:
        img = encode(request_spec(number), _header(number)) + b"\x01"
        first = min(s.offset for s in plan(request_spec(number), None, img).slots
                    if s.offset >= REQUEST_HEADER_SIZE)
        assert first == 3
    else:
        assert req == []
    resp = [s for s in layout(response_spec(number)) if s.offset >= RESPONSE_HEADER_SIZE]
    assert min(s.offset for s in resp) == 4
    # the response table holds 4 + BT00's Response Data Length bytes (default 12)
    assert table_size(response_spec(number)) == RESPONSE_HEADER_SIZE + 12
    if not proc.response:
        assert [s.path for s in resp] in (["unused"], ["response_data"])


def _offsets(spec, values=None) -> dict[str, int]:
    img = encode(spec, values or {})
    return {s.path: s.offset for s in plan(spec, None, img).slots}


def test_ep17_offsets_and_size():
    o = _offsets(request_spec(2065))
    assert (o["action"], o["device_handle"]) == (3, 4)
    assert table_size(request_spec(2065)) == 6
    assert table_size(response_spec(2065)) == 4 + 12  # no response data: all unused


def test_ep19_offsets_and_sizes():
    o = _offsets(request_spec(2067), {"request_type": 4})
    assert (o["transaction_number"], o["device_handle"], o["request_type"]) == (3, 5, 7)
    assert (o["write_data_length"], o["write_data[0]"]) == (8, 9)
    assert table_size(request_spec(2067)) == 9 + 64  # ET11.20 - 1 bytes of write data
    o = _offsets(request_spec(2067), {"request_type": 9})
    assert (o["image_length"], o["image_mac"]) == (8, 12)
    assert _offsets(response_spec(2067))["entry_index"] == 4


def test_ep61_offsets():
    assert _offsets(request_spec(2109))["lock"] == 3
    assert table_size(request_spec(2109)) == 4 and table_size(response_spec(2109)) == 16


def test_bp15_ped_offsets():
    for code, name in ((0, "ped.event_storage_time"), (2, "ped.event_storage")):
        o = _offsets(request_spec(15), {"ped.event_code": code})
        assert o["ped.event_code"] == o["ped.self_read_flag"] == o["ped.demand_reset_flag"] == 3
        assert o[name] == 4
    o = _offsets(request_spec(15), {"ped.event_code": 1})
    assert [o[f"ped.event_storage_delay.{n}"] for n in
            ("weeks", "days", "hours", "minutes", "seconds")] == [4, 5, 6, 7, 8]
    assert table_size(request_spec(15)) == 9 and table_size(response_spec(15)) == 16


def test_ped_decodes_bits_and_time():
    # event code 0, self read, demand reset; 2025-06-01 02:30 UTC
    raw = bytes([0x0F, 0x00, 0x00]) + bytes([0x30, 25, 6, 1, 2, 30])
    v = decode_request(raw).values()
    assert v["procedure_index"] == 15 and not v["mfg_flag"]
    assert (v["ped.event_code"], v["ped.self_read_flag"], v["ped.demand_reset_flag"]) == (
        0, True, True)
    assert v["ped.event_storage_time"] == dt.datetime(2025, 6, 1, 2, 30)
    v = decode_request(bytes([0x0F, 0x00, 0x01, 0x01, 0, 2, 3, 0, 30])).values()
    assert v["ped.event_storage_delay.days"] == 2 and v["ped.event_storage_delay.seconds"] == 30


def test_default_sizes():
    # opaque procedures: parameters = whatever was written, response = BT00 (12) bytes
    for number, proc in PROCEDURES.items():
        if proc.tag in GUIDE_LAYOUTS:
            continue
        assert table_size(request_spec(number)) == 3, proc.tag
        assert table_size(response_spec(number)) == 4 + 12, proc.tag
        assert table_size(response_spec(number), {"BT00.response_data_length": 20}) == 24


# ------------------------------------------------------------- result codes


def test_result_code_names():
    assert result_name(0, 2065) == "Procedure completed"
    assert result_name(1, 2065).startswith("Not complete")
    assert result_name(4, 2065) == "A remove request is already in progress"
    assert result_name(2, 2067) == "Invalid request type"
    assert result_name(7, 2067) == "On-demand request queue is full"
    assert result_name(5, 2109).startswith("T08_NO_AUTH")
    assert result_name(1, 15) == "No pending table matches the PED"
    assert result_name(3, 15).startswith("Internal conflict")
    # procedures without their own codes use the ANSI ones
    assert result_name(2, MFG_BASE + 16) == procedures.RESULT_CODES[2]
    assert result_name(6, 5) == "Unrecognized procedure, procedure ignored"
    d = decode_response(bytes([15, 0, 7, 1]), tag="BT08")
    assert d.get("result_code") == 1 and d.problems == []


def test_names_and_tags():
    names = {p.tag: p.name for p in PROCEDURES.values()}
    assert names["EP16"] == "Change System Clock By Delta"
    assert names["EP39"] == "Post MEP Data"
    assert names["EP17"] == "Remove MEP Device" and names["EP61"] == "MEP Transaction Lock Control"
    assert names["BP05"] == "Update Last Read Entry" and names["BP10"] == "Set Date and/or Time"
    for number, proc in PROCEDURES.items():
        assert procedures.procedure_tag(number) == proc.tag
        assert proc.tag in GUIDE_LAYOUTS or proc.desc
        if proc.tag not in GUIDE_LAYOUTS:
            assert [f.name for f in proc.params] == ["parameters"]
            assert [f.name for f in proc.response] == ["response_data"]


# ---------------------------------------------------------- guide notes


def test_note_bp15_is_the_optical_ped_procedure():
    # Optical guide p.12: a PED parameter, no response, codes 1 and 3, heading
    # lost; "clears the pending state ... data not modified" = C12.19 procedure 15.
    proc = PROCEDURES[15]
    assert proc.name == "Clear Specific Pending Tables" and proc.response == ()
    assert set(proc.result_codes) == {1, 3}
    assert [f.name for f in proc.params] == ["ped"]


def test_note_ep62_is_a_misprint_of_ep61():
    # ET54 says "locked ... via EP62"; every other passage says EP61.
    assert MFG_BASE + 62 not in PROCEDURES
    assert PROCEDURES[MFG_BASE + 61].name == "MEP Transaction Lock Control"


def test_note_ep39_parameters_are_opaque():
    # The guide names EP39's posting types but gives no parameter table and
    # only one number (Clear Delta Data Alert = 12); the bytes stay raw.
    assert procedures.EP39_TYPES == {12: "Clear Delta Data Alert"}
    post = bt07_image(procedure_id("EP39"), 5, ep39_params(0, b"abc"))
    v = decode_request(post).values()
    assert v["sequence"] == 5 and v["parameters"] == b"\x00abc"
    # the simulator numbers the types the guide leaves unnumbered itself, and
    # takes the guide's 12 for Clear Delta Data Alert
    assert CALL_EP39_TYPES[12] == "Clear Delta Data Alert"


def test_note_ep16_parameters_are_opaque():
    # No layout in the guides; the simulator's signed seconds stay raw bytes.
    raw = bt07_image(procedure_id("EP16"), 6, (-30).to_bytes(4, "little", signed=True))
    v = decode_request(raw).values()
    assert v["procedure_index"] == 16 and v["mfg_flag"]
    assert v["parameters"] == (-30).to_bytes(4, "little", signed=True)


def test_note_ep18_clears_mep_alarms():
    # ET14 clears its MEP Alarms via EP18; ET34's "multicast ... via EP18" is
    # EP19's request type 6, so EP18 keeps the alarm role.
    assert PROCEDURES[MFG_BASE + 18].name == "Clear MEP Alarms"
    assert 6 in procedures.EP19_REQUEST_TYPES
