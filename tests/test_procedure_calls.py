"""The procedure facts client and simulator share (dissector/catalog/procedure_calls.py,
dissector/catalog/access.py): the images they build decode with the catalog's own
layouts, and the names agree with the catalog's tables."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mepshark.dissector.catalog.access import MAK_WRITABLE, MBK_WRITABLE, may_call, may_write
from mepshark.dissector.catalog.procedure_calls import (
    CLEAR_DELTA_ALERT,
    COMPLETED,
    CONFLICT,
    EP39_TYPES,
    INVALID_PARAMETER,
    NO_AUTH,
    NOT_COMPLETED,
    POST_MEP_DATA,
    TIMING,
    UNRECOGNIZED,
    bt07_image,
    ep39_params,
    procedure_id,
    response_image,
)
from mepshark.dissector.catalog.procedures import (
    EP39_TYPES as GUIDE_EP39_TYPES,
)
from mepshark.dissector.catalog.procedures import (
    PROCEDURES,
    RESULT_CODES,
    decode_request,
    decode_response,
    procedure_tag,
)
from mepshark.dissector.tables import PROCEDURE_NAMES, table_id

numbers = st.sampled_from(sorted(PROCEDURES))


def test_procedure_id_inverts_procedure_tag():
    for number in PROCEDURES:
        assert procedure_id(procedure_tag(number)) == number
    for tag in PROCEDURE_NAMES:
        assert procedure_tag(procedure_id(tag)) == tag
    assert POST_MEP_DATA == 2087 and PROCEDURE_NAMES["EP39"] == "Post MEP Data"


def test_result_code_names_follow_the_catalog():
    named = {COMPLETED: "Procedure completed",
             NOT_COMPLETED: "Procedure accepted but not fully completed",
             INVALID_PARAMETER: "Invalid parameter",
             CONFLICT: "Procedure conflicts",
             TIMING: "Timing constraint",
             NO_AUTH: "No authorization",
             UNRECOGNIZED: "Unrecognized procedure"}
    assert sorted(named) == sorted(RESULT_CODES)
    for code, start in named.items():
        assert RESULT_CODES[code].startswith(start)


def test_ep39_types_keep_the_guides_number():
    for code, name in GUIDE_EP39_TYPES.items():
        assert EP39_TYPES[code] == name
    assert CLEAR_DELTA_ALERT == 12
    assert ep39_params(CLEAR_DELTA_ALERT, b"xy") == b"\x0cxy"


@given(numbers, st.integers(0, 255), st.binary(max_size=40))
def test_bt07_image_decodes_as_the_catalog_lays_it_out(number, psn, params):
    v = decode_request(bt07_image(number, psn, params)).values()
    assert (2048 if v["mfg_flag"] else 0) + v["procedure_index"] == number
    assert v["sequence"] == psn and v["selector"] == 0


@given(numbers, st.integers(0, 255), st.integers(0, 6))
def test_response_image_decodes_as_the_catalog_lays_it_out(number, psn, result):
    v = decode_response(response_image(number, psn, result), tag="BT08").values()
    assert (2048 if v["mfg_flag"] else 0) + v["procedure_index"] == number
    assert v["sequence"] == psn and v["result_code"] == result


def test_key_rights():
    assert MBK_WRITABLE < MAK_WRITABLE
    assert may_write("MBK", table_id("BT07")) and may_write("MAK", table_id("BT07"))
    assert not may_write("MBK", table_id("ET13")) and may_write("MAK", table_id("ET13"))
    assert not may_write("MAK", table_id("BT00"))  # read-only for both keys
    assert may_call("MBK", POST_MEP_DATA) and not may_call("MBK", procedure_id("EP19"))
    assert may_call("MAK", procedure_id("EP19"))
