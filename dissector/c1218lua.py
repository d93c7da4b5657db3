"""The C12.18 part of the generated ``mep.lua``, from :mod:`.c1218spec`.

:func:`head` declares the ``c1218`` protocol before the MEP one (so that a
plain-Lua test harness that keeps the last protocol made still drives MEP);
:func:`data` emits the fields, experts, preference, class field lists, Info
templates and texts; the runtime ``c1218_runtime.lua.in``, appended after
MEP's, holds the algorithms (CRC, reassembly, pairing, tree).  Everything
C12.18 lives in the one table ``C12`` (Lua caps a chunk's locals at 200).
"""

from __future__ import annotations

import re
from pathlib import Path

from . import c1218link as link
from . import c1218spec as cs
from .c1218frames import CLASSES, C1218Packet
from .context import DIRECTIONS
from .framespec import FrameSpec, Num, Records, Tail
from .wsfields import WSField, ws_field

RUNTIME = Path(__file__).with_name("c1218_runtime.lua.in")
STATUS = ((0, "Bad"), (1, "Good"))


def ws_fields() -> list[WSField]:
    """Every ``c1218.*`` Wireshark field, once (the scapy names, as for MEP)."""
    p = cs.PREFIX
    seen: dict[str, WSField] = {}

    def put(wf: WSField) -> None:
        old = seen.setdefault(wf.abbrev, wf)
        if wf.values and old.values != wf.values:
            merged = dict(old.values)
            merged.update(wf.values)
            seen[wf.abbrev] = WSField(old.abbrev, old.name, old.ftype, old.base,
                                      tuple(sorted(merged.items())))

    put(WSField(f"{p}.ack", "ACK/NAK", "uint8", "HEX", tuple(sorted(cs.ACK_NAK.items()))))
    for f in C1218Packet.fields_desc:
        put(ws_field(C1218Packet, f))
        if f.name == "control":
            for flag in cs.CONTROL_FLAGS:
                put(WSField(f"{p}.control.{flag.name}", flag.title, "uint8", "DEC",
                            mask=flag.mask, bits=8))
    put(WSField(f"{p}.crc.status", "CRC status", "uint8", "DEC", STATUS))
    for cls in CLASSES.values():
        for f in cls.fields_desc:
            put(ws_field(cls, f))
            if f.name in cs.SECRETS:
                put(WSField(f"{p}.{f.name}_length", f"{f.name.capitalize()} length", "uint16",
                            "DEC", blurb="Shown instead of the secret itself"))
    put(WSField(f"{p}.checksum.status", "Table data checksum status", "uint8", "DEC", STATUS))
    put(WSField(f"{p}.direction", "Direction", "uint8", "DEC", tuple(DIRECTIONS.items())))
    put(WSField(f"{p}.table_name", "Table name", "string", "NONE"))
    put(WSField(f"{p}.request_in", "Request in", "framenum", "NONE", (), "Frame of the request",
                "REQUEST"))
    put(WSField(f"{p}.response_in", "Response in", "framenum", "NONE", (),
                "Frame of the response", "RESPONSE"))
    put(WSField(f"{p}.retransmission", "Retransmission of", "framenum", "NONE"))
    put(WSField(f"{p}.segments", "Reassembled from packets", "uint16", "DEC"))
    return list(seen.values())


_EXPERTS = [
    # group key, abbreviation, text, group, severity
    ("malformed", "c1218.malformed", "Malformed C12.18 packet", "MALFORMED", "ERROR"),
    ("bad_crc", "c1218.crc.bad", "Bad CRC", "CHECKSUM", "ERROR"),
    ("bad_checksum", "c1218.checksum.bad", "Bad table data checksum", "CHECKSUM", "ERROR"),
    ("retransmission", "c1218.retransmission.expert", "Retransmission", "SEQUENCE", "NOTE"),
    ("nak", "c1218.nak", "NAK", "SEQUENCE", "NOTE"),
    ("error_response", "c1218.error_response", "Error response", "RESPONSE_CODE", "WARN"),
    ("unpaired", "c1218.unpaired", "Response without a request", "SEQUENCE", "WARN"),
    ("segment", "c1218.segment", "Multi-packet message", "REASSEMBLE", "CHAT"),
]


def _lua_str(s: str) -> str:
    from .luagen import _lua_str as q

    return q(s)


def _field(f) -> str:
    ab, name = _lua_str(f"{cs.PREFIX}.{f.name}"), _lua_str(f.name)
    if isinstance(f, Records):
        raise TypeError("C12.18 services carry no TLS records")
    if isinstance(f, Num):
        return f'{{{ab}, "u", {f.size}, {name}}}'
    if isinstance(f.n, Tail):
        return f'{{{ab}, "tail", {f.n.keep}, {name}}}'
    if isinstance(f.n, int):
        return f'{{{ab}, "fixed", {f.n}, {name}}}'
    return f'{{{ab}, "ref", {_lua_str(f.n.path)}, {name}}}'


def _class(spec: FrameSpec) -> str:
    extra = ""
    if spec.error_note:
        extra += f" error_note = {_lua_str(spec.error_note)},"
    if spec.at_most:
        extra += f" at_most = {{{_lua_str(spec.at_most[0])}, {_lua_str(spec.at_most[1])}}},"
    if spec.name in cs.CHECKSUMS:
        extra += " checksum = true,"
    if any(f.name == "index" for f in spec.fields):
        extra += " indexed = true,"
    fields = ", ".join(_field(f) for f in spec.fields)
    return (f"CLASSES.{spec.name} = {{name = {_lua_str(spec.title)}, min_len = {spec.min_len},"
            f" check = CHECK_FN.{spec.name},{extra} fields = {{{fields}}}}}")


def _rule_key(code: int | None) -> str:
    return '"other"' if code is None else f"0x{code:02X}"


def head() -> list[str]:
    """Lines before the MEP protocol is made."""
    return ['local c1218 = Proto("c1218", "ANSI C12.18 (optical port packets)")',
            "local C12 = {}  -- every C12.18 fact and state (filled below)"]


def data() -> list[str]:
    """The C12.18 data part: fields, experts, preference, classes, texts."""
    from .luagen import _checks_fn, _lua_map, _protofield, _summary_fn

    out = ["", "-- ---- ANSI C12.18 (optical port, shared UART): facts from c1218spec.py ----"]
    w = out.append
    consts = {"STP": link.STP, "ACK": link.ACK, "NAK": link.NAK, "HEADER_LEN": link.HEADER_LEN,
              "CRC_LEN": link.CRC_LEN, "MAX_DATA": link.MAX_DATA, "CTRL_MULTI": link.CTRL_MULTI,
              "CTRL_FIRST": link.CTRL_FIRST, "FIRST_REQUEST_CODE": cs.FIRST_REQUEST_CODE}
    for k, v in consts.items():
        w(f"C12.{k} = {v}")
    w("C12.CRC_TABLE = {" + ", ".join(str(x) for x in link._CRC_TABLE) + "}")
    w("C12.CLAIMS = {" + ", ".join(f"[{b}] = true" for b in sorted(cs.RECORD_STARTS))
      + "}  -- a record's first byte that makes it C12.18")
    w(f"C12.PROTOCOL = {_lua_str(cs.PROTOCOL_COLUMN)}")
    w("C12.LINK = {" + ", ".join(
        f'{{{_lua_str(cs.PREFIX + "." + f.name)}, '
        + ('"le"' if f.name in cs.LITTLE_ENDIAN else '"u"' if isinstance(f, Num) else '"ref"')
        + f", {f.size if isinstance(f, Num) else _lua_str(f.n.path)}, {_lua_str(f.name)}}}"
        for f in cs.LINK.fields) + "}")
    w("C12.FLAGS = {" + ", ".join(f"{{{_lua_str(cs.PREFIX + '.control.' + fl.name)}, {fl.mask}}}"
                                  for fl in cs.CONTROL_FLAGS) + "}")
    w(f"C12.BY_CODE = {_lua_map(cs.BY_CODE)}")
    rules = []
    for req, rule in sorted(cs.response_rules().items()):
        items = [f"[{_rule_key(k)}] = {_lua_str(v)}"
                 for k, v in sorted(rule.items(), key=lambda kv: -1 if kv[0] is None else kv[0])]
        rules.append(f"{req} = {{{', '.join(items)}}}")
    w("C12.RULES = {" + ", ".join(rules) + "}")
    w(f"C12.RESPONSE_NAMES = {_lua_map(cs.RESPONSE_NAMES)}")
    w(f"C12.SECRETS = {{{', '.join(f'{n} = true' for n in sorted(cs.SECRETS))}}}")
    for name, table in (("PROBLEMS", cs.PROBLEMS), ("INFO", cs.INFO)):
        w(f"C12.{name} = {{" + ", ".join(f"{k} = {_lua_str(v)}" for k, v in table.items()) + "}")
    w("C12.NOTES = {" + ", ".join(f"{k} = {{{_lua_str(g)}, {_lua_str(t)}}}"
                                  for k, (g, t) in cs.NOTES.items()) + "}")
    w(f"C12.MALFORMED = {_lua_str(cs.MALFORMED)}")
    for spec in cs.SERVICES:
        w(_checks_fn(spec))
        w(_class(spec))
    names: dict = {}
    fns = [_summary_fn(s, names) for s in cs.SERVICES]
    for table, values in names.values():
        w(f"C12.{table} = {_lua_map(values, key=str)}")
    out.extend(re.sub(r"\bNAMES(\d+)\b", r"C12.NAMES\1", fn) for fn in fns)
    w("C12.F = {}")
    for wf in ws_fields():
        w("C12." + _protofield(wf))
    w("do")
    w("    local list = {}")
    w("    for _, f in pairs(C12.F) do list[#list + 1] = f end")
    w("    c1218.fields = list")
    w("end")
    w("C12.E = {}")
    for key, ab, text, group, sev in _EXPERTS:
        w(f"C12.E.{key} = ProtoExpert.new({_lua_str(ab)}, {_lua_str(text)}, "
          f"expert.group.{group}, expert.severity.{sev})")
    w("do")
    w("    local list = {}")
    w("    for _, e in pairs(C12.E) do list[#list + 1] = e end")
    w("    c1218.experts = list")
    w("end")
    w('c1218.prefs.show_password = Pref.bool("Show the security password", false, '
      '"Show the security service\'s password in clear (else only its length)")')
    return out


def runtime() -> str:
    return RUNTIME.read_text()
