"""The plaintext kinds inside TLS are the RC4 kinds less their trailer (framespec.plain_kind).

Round trips: a table request or response built for RC4, cut to what TLS
carries, dissects to the same fields and the same Info (less the sequence
number); any bytes dissect without raising and say what is wrong.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mepshark.dissector import builders as b
from mepshark.dissector import framespec as fs
from mepshark.dissector.frames import CLASSES, plain_request, plain_response
from mepshark.dissector.tables import table_label
from mepshark.dissector.tlsplain import request_plaintext, response_plaintext

TABLES = st.integers(min_value=0, max_value=0xFFFF)
OFFSETS = st.integers(min_value=0, max_value=0xFFFFFF)
DATA = st.binary(min_size=1, max_size=40)


def _requests():
    return st.one_of(
        st.builds(b.full_read, TABLES, st.integers(0, 0xFFFF)),
        st.builds(b.partial_read, TABLES, OFFSETS, st.integers(0, 0xFFFF)),
        st.builds(b.full_write, TABLES, DATA),
        st.builds(b.partial_write, TABLES, OFFSETS, DATA),
    )


def test_every_table_kind_has_its_plaintext_kind():
    names = {s.name for s in fs.PLAIN_FRAMES}
    for spec in fs.FRAMES:
        if spec.family == "request":
            assert "MEPTLS" + spec.name[3:] in names
            plain = fs.SPECS["MEPTLS" + spec.name[3:]]
            assert [f.name for f in plain.fields] == [
                f.name for f in spec.fields if f.name not in ("length", "sequence", "digest")]
    assert "MEPTLSSequenceResponse" not in names  # no sequence numbers inside TLS


@settings(max_examples=150, deadline=None)
@given(_requests(), DATA)
def test_request_and_response_plaintexts_read_as_their_rc4_frames(request, data):
    request = type(request)(bytes(request))
    pkt = plain_request(request_plaintext(request))
    assert type(pkt).__name__ == "MEPTLS" + type(request).__name__[3:]
    assert not pkt.problems
    for name, value in pkt.fields.items():
        assert request.fields[name] == value
    rc4_info = request.info(table_label)
    assert pkt.info(table_label) == rc4_info[: rc4_info.index(" seq=")]
    answer = b.read_ok(data) if "Read" in type(request).__name__ else b.write_ok()
    answer = type(answer)(bytes(answer))
    resp = plain_response(pkt, response_plaintext(answer))
    assert type(resp).__name__ == "MEPTLS" + type(answer).__name__[3:]
    assert not resp.problems and resp.info() == answer.info()
    refused = plain_response(pkt, bytes([0x03]))
    assert type(refused) is CLASSES["MEPTLSErrorResponse"] and not refused.problems


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=30), st.binary(max_size=30))
def test_any_plaintext_dissects_without_raising(req, resp):
    pkt = plain_request(req)
    assert isinstance(pkt.info(table_label), str) and isinstance(pkt.problems, list)
    answer = plain_response(pkt, resp)
    assert isinstance(answer.info(table_label), str) and isinstance(answer.problems, list)
    if req and req[0] not in fs.PLAIN_BY_CODE:
        assert type(pkt).__name__ == fs.PLAIN_OTHER
