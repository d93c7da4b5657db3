"""ET52/ET53 transactions: the record list against the guide's own example."""

from __future__ import annotations

from catalogutil import assert_decodes_within, context
from hypothesis import given, settings
from hypothesis import strategies as st

from mepshark.dissector.catalog import decode, encode, table_size
from mepshark.dissector.catalog.layout import layout
from mepshark.dissector.catalog.manufacturer import ET11, ET52, ET53

# "Example Transaction - Multiple Commands" (chapter 4): the data written to
# ET52, and the full ET53 read that answers it.
ET52_EXAMPLE = bytes.fromhex(
    "430000010008003F080B000000000A08003F0014000000000A08003F0015000000000A"
    "08003F0804000037000108003F080E000000000C08003F080F000000001F0100")
ET53_EXAMPLE = bytes.fromhex(
    "6F000101000D0000000A0542240506050201 03F90D0000000A3F0EFD0F0810010408 1A"
    "0D0000000A3F0E0C0F080001040 81A0400000001040F0000000C0000000000110100"
    "01042F002200 00001F0042000100020145000100020148000100020103 00F803020 14B"
    "000100020101 00".replace(" ", ""))


def _records(d) -> list[dict]:
    out: dict[int, dict] = {}
    for f in d.fields:
        if f.slot.path.startswith("records["):
            i = int(f.slot.path[8:f.slot.path.index("]")])
            out.setdefault(i, {})[f.slot.path.split("].", 1)[1]] = f.value
    return [out[i] for i in sorted(out)]


def test_et52_guide_example_lists_six_partial_reads():
    d = decode(ET52, ET52_EXAMPLE)
    v = d.values()
    assert (v["transaction_size"], v["transaction_type"], v["transaction_number"]) == (67, 0, 1)
    recs = _records(d)
    assert [(r["message.table_id"], r["message.offset"], r["message.count"]) for r in recs] == [
        (2059, 0, 10), (20, 0, 10), (21, 0, 10), (2052, 55, 1), (2062, 0, 12), (2063, 0, 31)]
    assert all(r["length"] == 8 and r["message.code"] == 0x3F for r in recs)
    assert v["closing_transaction_number"] == 1
    closing = next(f for f in d.fields if f.slot.path == "closing_transaction_number")
    assert closing.slot.offset == 67 - 2  # at B-2
    assert d.problems == [] and d.size == 769


def test_et53_guide_example_answers_with_the_dimension_tables():
    d = decode(ET53, ET53_EXAMPLE)
    v = d.values()
    assert (v["transaction_size"], v["transaction_type"], v["transaction_number"]) == (111, 1, 1)
    recs = _records(d)
    assert [r["length"] for r in recs] == [13, 13, 13, 4, 15, 34]
    assert all(r["message.code"] == 0 for r in recs)
    assert [r["message.count"] for r in recs] == [10, 10, 10, 1, 12, 31]
    # the first answer is ET11's first ten bytes: 5 devices, 66-byte config entries
    et11 = decode(ET11, recs[0]["message.data"]).values()
    assert (et11["nbr_devices"], et11["config_entry_size"]) == (5, 66)
    assert et11["transaction_request_length"] == 769 == table_size(ET52)
    assert v["closing_transaction_number"] == 1 and d.problems == []


def test_et53_example_round_trip():
    values = decode(ET53, ET53_EXAMPLE).values()
    image = encode(ET53, values)
    assert len(image) == 1785 and image[:111] == ET53_EXAMPLE and not any(image[111:])


def test_first_read_of_et53_is_the_header_only():
    """The client first reads 5 bytes to learn B: no records can be placed yet."""
    d = decode(ET53, ET53_EXAMPLE[:5])
    assert d.values() == {"transaction_size": 111, "transaction_type": 1,
                          "transaction_number": 1}
    mid = decode(ET53, ET53_EXAMPLE[20:60], 20)  # a window without the record starts before it
    assert not any(f.slot.path.startswith("records") for f in mid.fields)


def test_group_broadcast_inserts_the_group_list():
    body = bytes([3]) + (9).to_bytes(2, "little") + bytes([2]) + bytes.fromhex("FF12FFFF")
    rec = bytes.fromhex("0300") + bytes.fromhex("300017")
    size = (len(body) + len(rec) + 4).to_bytes(2, "little")
    image = size + body + rec + (9).to_bytes(2, "little")
    v = decode(ET52, image).values()
    assert v["group_id_count"] == 2 and v["group_ids[1]"] == 0xFFFF
    assert v["records[0].message.code"] == 0x30 and v["records[0].message.table_id"] == 23
    assert v["closing_transaction_number"] == 9


def test_a_length_running_past_the_end_is_cut_at_b_minus_2():
    image = bytes.fromhex("0D 00 00 05 00 FF 00 3F 00 17 00 05 00".replace(" ", ""))
    d = decode(ET52, image)
    assert all(f.slot.end <= 11 or f.slot.path == "closing_transaction_number" for f in d.fields)
    assert d.get("closing_transaction_number") == 5 and d.get("records[0].length") == 0xFF


def test_table_size_follows_et11():
    ctx = context({
        "ET11": {"transaction_request_length": 768, "transaction_response_length": 1000},
    })
    assert table_size(ET52, ctx) == 768 and table_size(ET53, ctx) == 1000
    assert "ET11.transaction_request_length" in decode(ET52, ET52_EXAMPLE).defaults_used


def test_layout_without_data_has_no_records():
    paths = [s.path for s in layout(ET52)]
    assert paths == ["transaction_size", "transaction_type", "transaction_number",
                     "closing_transaction_number", "unused"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(0, 1800), st.sampled_from([ET52, ET53]))
def test_any_bytes_decode_without_raising(data, offset, spec):
    assert_decodes_within(spec, data, offset)
