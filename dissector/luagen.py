"""Generate the Wireshark Lua dissector ``mep.lua`` from the scapy definitions.

The output has two parts.  The data part is derived here from the Python
definitions: constants, code and table names, one ProtoField per field,
the expert infos, the preferences, for every frame class its field list
(kind, size rule, consistency checks), and every catalog table and
procedure layout as a tree of nodes (:func:`_spec_lua`) in a form the
runtime interprets.
The runtime part (``mep_runtime.lua.in``) holds the algorithms: digest,
RC4, the field interpreter, pairing and the tree.  Protocol facts therefore
live once, in Python; the runtime only knows how to apply them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from . import c1218lua, context, frames, framespec, security, tables, timing
from .capture_format import DLT_USER0, DLT_USER_RANGE
from .catalog import PROCEDURES
from .catalog.layout import MAX_SLOTS, _decimals, is_static
from .catalog.procedures import (
    BT07,
    MFG_BASE,
    NUMBER_MASK,
    RESPONSE_TABLES,
    request_spec,
    response_spec,
)
from .catalog.registry import CATALOG, DIMENSION_SOURCES
from .catalog.types import (
    ANSI_DATE_PARTS,
    FIXED_SIZES,
    RDATE_MONTH,
    RDATE_PARTS,
    YEAR_BASE,
    AnsiDate,
    Array,
    Bcd,
    BitGroup,
    Bits,
    Bool,
    Bytes,
    Chars,
    Cmp,
    Dim,
    Expr,
    Fill,
    Int,
    Local,
    LTimeDate,
    RDate,
    Record,
    Ref,
    Repeat,
    Rest,
    Set,
    STimeDate,
    TableSpec,
    Time,
    UInt,
    When,
    contains,
    nodes_of,
)
from .codes import TLS_START
from .frames import CLASSES, checks_of
from .framespec import FrameSpec, Num, Octets, Records, Tail
from .wsfields import WSField, abbrev_of, all_fields, spec_parts

RUNTIME = Path(__file__).with_name("mep_runtime.lua.in")
OUTPUT = Path(__file__).with_name("mep.lua")
DECODERS_MARK = "-- @GENERATED_DECODERS@"

_FTYPES = {
    "uint8": "uint8",
    "uint16": "uint16",
    "uint24": "uint24",
    "uint32": "uint32",
    "int8": "int8",
    "int16": "int16",
    "int24": "int24",
    "int32": "int32",
    "bytes": "bytes",
    "string": "string",
    "bool": "bool",
    "framenum": "framenum",
    "reltime": "relative_time",
}

_EXPERTS = [
    # key, abbreviation, text, group, severity
    ("malformed", "mep.malformed", "Malformed MEP frame", "MALFORMED", "ERROR"),
    ("bad_digest", "mep.digest.bad", "Bad digest", "CHECKSUM", "ERROR"),
    ("error_response", "mep.error_response", "Error response", "RESPONSE_CODE", "WARN"),
    ("no_response", "mep.no_response", "No response", "SEQUENCE", "WARN"),
    ("unpaired", "mep.unpaired", "Response without a request", "SEQUENCE", "WARN"),
    ("retransmission", "mep.retransmission.expert", "Retransmission", "SEQUENCE", "NOTE"),
    ("timing", "mep.timing", "Timing rule broken", "SEQUENCE", "WARN"),
    ("alert", "mep.alert.expert", "Alert sequence", "REQUEST_CODE", "CHAT"),
    ("tls_unopened", "mep.tls.unopened", "TLS session not opened", "DECRYPTION", "WARN"),
    ("bad_key", "mep.key.malformed", "Key preference not understood", "SECURITY", "WARN"),
]


LOADED_MARK = "MEPSHARK_DISSECTOR"
"""Global the loaded dissector sets to its file name, so that a second copy
(installed, and also given with ``-X lua_script:``) can step aside."""


def _step_aside_lua() -> str:
    """Lua that ends a second load of the dissector with a one-line note.

    Wireshark refuses two protocols with the same name with an error (a modal
    dialog in the GUI).  Copies older than the mark are found by the name their
    Proto registered.
    """
    return _STEP_ASIDE.replace("@MARK@", _lua_str(LOADED_MARK)).strip("\n")


_STEP_ASIDE = r"""
local THIS_FILE = debug and debug.getinfo(1, "S").source:gsub("^@", "") or "mep.lua"
local loaded_from = rawget(_G, @MARK@)
if loaded_from == nil and Dissector then
    local found, other = pcall(Dissector.get, "mep")
    if found and other then loaded_from = "another plugin" end
end
if loaded_from then
    if io and io.stderr then
        io.stderr:write("MEP: " .. THIS_FILE .. " not loaded: the MEP dissector is already "
            .. "loaded from " .. loaded_from .. "\n")
    end
    return
end
rawset(_G, @MARK@, THIS_FILE)
"""


def _key_syntax_lua() -> str:
    """The key forms of :func:`security.key_problem`, for the Lua's parse_key."""
    s = security
    parts = {
        "max_len": str(s.MAX_KEY_LEN),
        "hex_prefix": _lua_str(s.KEY_HEX_PREFIX),
        "ascii_prefix": _lua_str(s.KEY_ASCII_PREFIX),
        "separators": _lua_set(_lua_str(c) for c in s.KEY_SEPARATORS),
        "bare_lengths": _lua_set(str(n) for n in s.KEY_BARE_LENGTHS),
        "hexlike_min": str(s.KEY_HEXLIKE_MIN),
        "forms": _lua_str(s.KEY_FORMS),
        "problems": "{" + ", ".join(
            f"{k} = {_lua_str(v)}" for k, v in sorted(s.KEY_PROBLEMS.items())) + "}",
    }
    return "local KEY_SYNTAX = {" + ", ".join(f"{k} = {v}" for k, v in parts.items()) + "}"


def _lua_str(s: str) -> str:
    out = []
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= o < 127:
            out.append(ch)
        else:
            out.extend(f"\\{b}" for b in ch.encode())
    return '"' + "".join(out) + '"'


def _lua_bytes(b: bytes) -> str:
    return '"' + "".join(f"\\{x}" for x in b) + '"'


def _lua_map(d: dict, key=lambda k: f"0x{k:02X}") -> str:
    items = ", ".join(f"[{key(k)}] = {_lua_str(v)}" for k, v in sorted(d.items()))
    return "{" + items + "}"


def _lua_set(keys) -> str:
    return "{" + ", ".join(f"[{k}] = true" for k in keys) + "}"


def _abbrev(spec: FrameSpec, name: str) -> str:
    return abbrev_of(CLASSES[spec.name], name)


def _field_spec(spec: FrameSpec, f) -> str:
    """One field of a frame kind as the walker's {abbrev, kind, argument, name}."""
    ab, name = _lua_str(_abbrev(spec, f.name)), _lua_str(f.name)
    if isinstance(f, Records):
        return f'{{"records", "records", "{f.record}", {name}}}'
    if isinstance(f, Num):
        return f'{{{ab}, "u", {f.size}, {name}}}'
    if isinstance(f.n, Tail):
        return f'{{{ab}, "tail", {f.n.keep}, {name}}}'
    if isinstance(f.n, Ref):
        return f'{{{ab}, "ref", {_lua_str(f.n.path)}, {name}}}'
    return f'{{{ab}, "fixed", {f.n}, {name}}}'


def _class_spec(spec: FrameSpec) -> str:
    fields = ",\n        ".join(_field_spec(spec, f) for f in spec.fields)
    notes = ""
    if spec.error_note:
        code = spec.code_field
        notes += (f" error_note = {_lua_str(spec.error_note)}, code = {_lua_str(code.name)},"
                  f" names = {_lua_map(code.values or {}, key=str)},")
    if spec.at_most:
        notes += f" at_most = {{{_lua_str(spec.at_most[0])}, {_lua_str(spec.at_most[1])}}},"
    if any(isinstance(f, Records) for f in spec.fields):
        notes += " records = true,"
    return (
        f"CLASSES.{spec.name} = {{\n    name = {_lua_str(spec.title)},"
        f" min_len = {spec.min_len}, check = CHECK_FN.{spec.name},{notes}\n"
        f"    fields = {{\n        {fields}\n    }},\n}}"
    )


def _check_code(kind: str, a: str, b: str, t: str = "t") -> str:
    """Lua returning the problem text of a failed check (values in table ``t``)."""
    va, vb = f"{t}.{a}", f"{t}.{b}"
    guard = f"{va} ~= nil and {vb} ~= nil and "
    if kind == "count":
        return (f"if {guard}{va} ~= #{vb} then return sfmt(PROBLEMS.count, "
                f"{_lua_str(a)}, {va}, #{vb}, {_lua_str(b)}) end")
    if kind == "cut":
        return (f"if {guard}#{vb} < {va} then return sfmt(PROBLEMS.cut, "
                f"{_lua_str(b)}, #{vb}, {va}) end")
    return (f"if {guard}#{va} > 0 and #{vb} > 0 then return sfmt(PROBLEMS.trailing, #{vb}) end")


def _checks_fn(spec: FrameSpec) -> str:
    body = " ".join(_check_code(*c, t="v") for c in checks_of(spec))
    return f"CHECK_FN.{spec.name} = function(v) {body} end"


def _fast_decoder(spec: FrameSpec) -> str | None:
    """Straight-line Lua decoders for a well-formed frame of kind ``spec``.

    Applies to layouts of fixed-size fields around at most one variable byte
    run (tail or rest).  ``FAST.<cls>(s, n, t)`` stores the field values in
    ``t`` (the frame's state: no table per frame) and returns the first failed
    check's problem or nil, or false (the runtime then walks the field list
    generically) when the frame is too short for the layout;
    ``FAST_ITEMS.<cls>(s, n, t)`` lists the tree items of those values, made
    only when a tree is built.  The values leave out fixed byte runs (the
    digest): no rule reads them, so only the tree items cut them out.
    """
    fields = []  # (abbrev, name, kind, size or None for the variable run)
    for f in spec.fields:
        if isinstance(f, Records) or (isinstance(f, Octets) and isinstance(f.n, Ref)):
            return None
        if isinstance(f, Num):
            fields.append((_abbrev(spec, f.name), f.name, "u", f.size))
        elif isinstance(f.n, Tail):
            fields.append((_abbrev(spec, f.name), f.name, "bytes", None))
        else:
            fields.append((_abbrev(spec, f.name), f.name, "bytes", f.n))
    variable = [k for k, fl in enumerate(fields) if fl[3] is None]
    if len(variable) > 1:
        return None
    fixed = sum(fl[3] for fl in fields if fl[3])
    split = variable[0] if variable else len(fields)
    cond = f"n < {max(fixed, spec.min_len)}" if variable else f"n ~= {fixed}"
    # where each field starts: a number (from the start) or "n - k" (from the end)
    starts, pos = [], 1
    for _ab, _name, _kind, size in fields[:split]:
        starts.append(str(pos))
        pos += size
    if variable:
        starts.append(str(pos))
        after = fixed - (pos - 1)
        for _ab, _name, _kind, size in fields[split + 1 :]:
            starts.append(f"n - {after - 1}")
            after -= size
    head = [fl for fl in fields[:split] if fl[2] == "u"]
    nbytes = max((int(starts[k]) + fields[k][3] - 1 for k in range(split)
                  if fields[k][2] == "u"), default=0)
    out = [f"FAST.{spec.name} = function(s, n, t)", f"    if {cond} then return false end"]
    if head:
        out.append("    local " + ", ".join(f"b{i}" for i in range(1, nbytes + 1))
                   + f" = sbyte(s, 1, {nbytes})")
    names, vals = [], []
    for k, (_ab, name, kind, size) in enumerate(fields):
        at = starts[k]
        if kind == "u" and k < split:
            p0 = int(at)
            expr = f"b{p0}"
            for i in range(p0 + 1, p0 + size):
                expr = f"{expr} * 256 + b{i}" if i == p0 + 1 else f"({expr}) * 256 + b{i}"
        elif kind == "u":
            expr = f"be(s, {at}, {size})"
        elif size is None:
            expr = f"s:sub({at}, n - {fixed - (pos - 1)})"
        else:  # a fixed byte run (the digest): read by no rule, cut out for the tree only
            continue
        names.append(f"t.{name}")
        vals.append(expr)
    if names:
        out.append(f"    {', '.join(names)} =")
        out.append(f"        {', '.join(vals)}")
    out.extend(f"    {_check_code(*c)}" for c in checks_of(spec))
    out.append("    return nil")
    out.append("end")
    # the tree items of the values, in field order (an empty variable run: none)
    out.append(f"FAST_ITEMS.{spec.name} = function(s, n, v)")

    def value(k: int) -> str:
        _ab, name, kind, size = fields[k]
        if kind == "u" or size is None:
            return f"v.{name}"
        at = starts[k]
        if k < split:
            return f"s:sub({at}, {int(at) + size - 1})"
        return f"s:sub({at}, {at} + {size - 1})"

    items = [f"{_lua_str(ab)}, {value(k)}, {starts[k]}, {size}"
             for k, (ab, _name, _kind, size) in enumerate(fields[:split])]
    out.append("    local items = {" + ", ".join(items) + "}")
    if variable:
        ab, name, _kind, _size = fields[split]
        out.append(f"    local m = {4 * split}")
        out.append(f"    if #v.{name} > 0 then")
        out.append(f"        items[m + 1], items[m + 2], items[m + 3], items[m + 4] ="
                   f" {_lua_str(ab)}, v.{name}, {starts[split]}, #v.{name}")
        out.append("        m = m + 4")
        out.append("    end")
        for k, (ab2, _name2, _kind2, size2) in enumerate(fields[split + 1 :], split + 1):
            out.append(f"    items[m + 1], items[m + 2], items[m + 3], items[m + 4] ="
                       f" {_lua_str(ab2)}, {value(k)}, {starts[k]}, {size2}")
            out.append("    m = m + 4")
    out.append("    return items")
    out.append("end")
    return "\n".join(out)


def _summary_fn(spec: FrameSpec, names: dict[tuple, tuple[str, dict]]) -> str:
    """SUMMARY.<cls>(v, tbl, pre, post): pre, the kind's Info template over values v
    (tbl renders table ids), then post, joined with `..` (the Info column is made for
    every frame: string.format's %s looks up a __tostring per argument in Lua 5.2, and
    dec() keeps the texts of small numbers); a missing number shows as None."""
    parts = ["pre"]
    for literal, name, conv in framespec.template_parts(spec.info):
        if literal:
            parts.append(_lua_str(literal))
        if name is None:
            continue
        v = f"v.{name}"
        if conv == "name":
            f = spec.field(name)
            key = tuple(sorted((f.values or {}).items()))
            table = names.setdefault(key, (f"NAMES{len(names) + 1}", f.values or {}))[0]
            parts.append(f"({table}[{v}] or code_name({table}, {v}, {_lua_str(f.unknown)}))")
        elif conv == "hex32":
            parts.append(f"hex32({v})")
        elif conv == "table":
            parts.append(f"({v} == nil and \"?\" or tbl({v}))")
        elif conv == "list":
            parts.append("records_summary(v)")
        else:
            parts.append(f"dec({v})")
    parts.append("post")
    return (f"SUMMARY.{spec.name} = function(v, tbl, pre, post)\n"
            f"    return {' .. '.join(parts)}\nend")


def _frame_rules_lua() -> list[str]:
    """Class selection, response rules, Info templates and texts, from framespec."""
    out = []
    by_code = {c: s.name for s in framespec.FRAMES for c in s.codes}
    out.append(f"local BY_CODE = {_lua_map(by_code)}")
    rules = []
    for req, rule in sorted(framespec.response_rules().items()):
        items = [f"[{'other' if k is None else f'0x{k:02X}'}] = {_lua_str(v)}"
                 .replace("[other]", "other") for k, v in sorted(
                     rule.items(), key=lambda kv: -1 if kv[0] is None else kv[0])]
        rules.append(f"{req} = {{{', '.join(items)}}}")
    out.append("local RESPONSE_RULES = {" + ", ".join(rules) + "}")
    guesses = []
    for code, tries in sorted(framespec.guess_rules().items()):
        alts = ", ".join("{" + _lua_str(n) + ("" if shape is None else ", " + (
            _lua_str(shape) if isinstance(shape, str) else str(shape))) + "}" for n, shape in tries)
        guesses.append(f"[{code}] = {{{alts}}}")
    out.append("local GUESS = {" + ", ".join(guesses) + "}")
    out.append(f"local PROBLEMS = {_lua_map(framespec.PROBLEMS, key=str)}"
               .replace("[", "").replace("] =", " ="))
    out.append(f"local MALFORMED = {_lua_str(framespec.MALFORMED)}")
    out.append("local NOTES = {" + ", ".join(
        f"{k} = {{{_lua_str(g)}, {_lua_str(t)}}}" for k, (g, t) in framespec.NOTES.items()
        if k not in framespec.SCAPY_ONLY_NOTES) + "}")
    out.append("local INFO = {" + ", ".join(
        f"{k} = {_lua_str(t)}" for k, t in framespec.INFO.items()) + "}")
    names: dict[tuple, tuple[str, dict]] = {}
    fns = [_summary_fn(s, names) for s in framespec.SPECS.values()]
    # a TLS frame whose records were opened: SUMMARY.<cls>Opened, the plaintext's Info after
    fns += [_summary_fn(dataclasses.replace(s, name=s.name + "Opened", info=s.opened), names)
            for s in framespec.SPECS.values() if s.opened]
    for table, values in names.values():
        out.append(f"local {table} = {_lua_map(values, key=str)}")
    out.append("local SUMMARY = {}")
    out.append("local code_name, hex32, dec, records_summary  -- defined by the runtime")
    out.extend(fns)
    return out


def _protofield(wf: WSField) -> str:
    """ProtoField constructor call (Wireshark 4.0 signatures)."""
    ab, name = _lua_str(wf.abbrev), _lua_str(wf.name)
    blurb = _lua_str(wf.blurb) if wf.blurb else "nil"
    mask = f"0x{wf.mask:X}" if wf.mask else "nil"
    if wf.ftype.startswith(("uint", "int")):
        vs = _lua_map(dict(wf.values), key=str) if wf.values else "nil"
        args = [ab, name, f"base.{wf.base}", vs, mask, blurb]
    elif wf.ftype == "bool":
        args = [ab, name, str(wf.bits) if wf.mask else "base.NONE", "nil", mask, blurb]
    elif wf.ftype == "framenum":
        ft = f"frametype.{wf.frametype}" if wf.frametype else "nil"
        args = [ab, name, "base.NONE", ft, "nil", blurb]
    elif wf.ftype in ("bytes", "string"):
        args = [ab, name, "base.NONE", blurb]
    else:  # relative time
        args = [ab, name, blurb]
    return f"F[{ab}] = ProtoField.{_FTYPES[wf.ftype]}({', '.join(args)})"


# ---------------------------------------------------------------- table specs

_LEAF_KINDS = {UInt: "u", Int: "i", Bool: "bool", Bits: "bits", Set: "set", Chars: "chars",
               Bcd: "bcd", Bytes: "bytes", Time: "time", STimeDate: "stime",
               LTimeDate: "ltime", RDate: "rdate", AnsiDate: "adate"}


def _count_lua(c) -> str:
    """A Count as Lua data: a number, {"dim", key, default}, {"ref", path, default},
    {"local", name, default}, {"rest"} or {"op", op, args...}."""
    if isinstance(c, bool):
        return str(int(c))
    if isinstance(c, int):
        return str(c)
    if isinstance(c, Dim):
        return f"{{\"dim\", {_lua_str(c.key)}, {c.default}}}"
    if isinstance(c, Ref):
        return f"{{\"ref\", {_lua_str(c.path)}, {c.default}}}"
    if isinstance(c, Local):
        return f"{{\"local\", {_lua_str(c.name)}, {c.default}}}"
    if isinstance(c, Rest):
        return '{"rest"}'
    if isinstance(c, Expr):
        return f"{{\"op\", {_lua_str(c.op)}, " + ", ".join(_count_lua(a) for a in c.args) + "}"
    raise TypeError(f"not a count: {c!r}")


def _cond_lua(c) -> str:
    if isinstance(c, Cmp):
        return f'{{"cmp", {_count_lua(c.left)}, {_lua_str(c.op)}, {c.right}}}'
    return _count_lua(c)


class _SpecWriter:
    """Turns a spec into nested Lua tables with every leaf's abbreviation, static
    path (for Ref) and dimension-learning flag resolved here, following the
    naming rules of :mod:`.catalog.layout`."""

    def __init__(self, refs: set[str], local_names: set[str] = frozenset()):
        self.refs = refs
        self.local_names = local_names
        self.found: set[str] = set()

    def nodes(self, fields, prefix: str, ppath: str, pabbrev: str, own=None) -> str:
        return "{" + ", ".join(self.node(f, prefix, ppath, pabbrev, own) for f in fields) + "}"

    def leaf(self, f, prefix: str, path: str, abbrev: str, size: int | None,
             msb: bool = False) -> str:
        kind = _LEAF_KINDS[type(f)]
        parts = [f'k = "{kind}"', f"ab = {_lua_str(prefix + '.' + abbrev)}"]
        if msb:
            parts.append("msb = true")
        if isinstance(f, (UInt, Int)):
            parts.append(f"size = {f.size}")
        elif type(f) in FIXED_SIZES:
            parts.append(f"size = {FIXED_SIZES[type(f)]}")
        elif isinstance(f, Bcd):
            parts.append(f"size = {f.nbytes}")
        elif isinstance(f, Set):
            parts.append(f"n = {_count_lua(f.nbytes)}")
        elif isinstance(f, (Chars, Bytes)):
            parts.append(f"n = {_count_lua(f.n)}")
        if isinstance(f, Bool):
            parts.append(f"bit = {f.bit}, masked = true")
        if isinstance(f, Bits):
            parts.append(f"lo = {f.lo}, width = {f.hi - f.lo + 1}, masked = true")
            if f.signed:
                parts.append("signed = true")
        if isinstance(f, (UInt, Int, Bits, Bool)):
            if "[" not in path and path in self.refs:
                parts.append(f"ref = {_lua_str(path)}")
                self.found.add(path)
            if f.name in self.local_names:
                parts.append(f"lref = {_lua_str(f.name)}")
            if "." not in path and "[" not in path:
                parts.append(f"top = {_lua_str(path)}")
        unit, scale = getattr(f, "unit", None), getattr(f, "scale", None)
        if unit:
            parts.append(f"unit = {_lua_str(unit)}")
        if scale:
            parts.append(f"scale = {scale!r}, decimals = {_decimals(scale)}")
        if isinstance(f, Set) and f.flags:
            parts.append(f"flags = {_lua_map(f.flags, key=str)}")
        return "{" + ", ".join(parts) + "}"

    def node(self, f, prefix: str, ppath: str, pabbrev: str, own=None) -> str:
        name = getattr(f, "name", "")
        path = own[0] if own else (f"{ppath}.{name}" if ppath else name)
        abbrev = own[1] if own else (f"{pabbrev}.{name}" if pabbrev else name)
        bpath, babbrev = own if own else (ppath, pabbrev)
        if isinstance(f, When):
            return (f'{{k = "when", cond = {_cond_lua(f.cond)}, '
                    f"yes = {self.nodes(f.fields, prefix, bpath, babbrev)}, "
                    f"no = {self.nodes(f.otherwise, prefix, bpath, babbrev)}}}")
        if isinstance(f, Fill):
            return f'{{k = "fill", n = {_count_lua(f.size)}}}'
        if isinstance(f, BitGroup):
            parts = ", ".join(
                self.leaf(p, prefix, f"{bpath}.{p.name}" if bpath else p.name,
                          f"{babbrev}.{p.name}" if babbrev else p.name, f.size, f.msb_first)
                for p in f.parts)
            msb = ", msb = true" if f.msb_first else ""
            return f'{{k = "group", size = {f.size}{msb}, parts = {{{parts}}}}}'
        if isinstance(f, Record):
            size = f", n = {_count_lua(f.size)}" if f.size is not None else ""
            return (f'{{k = "record", fields = {self.nodes(f.fields, prefix, path, abbrev)}'
                    f"{size}}}")
        if isinstance(f, Array):
            elt_own = (f"{path}[]", abbrev)
            per = ", ".join(
                self.node(e, prefix, ppath, pabbrev) if f.flatten
                else self.node(e, prefix, ppath, pabbrev, elt_own)
                for e in f.per_index)
            # static: the element's size follows from the dimensions (stepped over
            # outside a decode's window, as layout.py does)
            static = ", static = true" if is_static(f.element) else ""
            return (f'{{k = "array", n = {_count_lua(f.count)}, '
                    f"element = {self.node(f.element, prefix, ppath, pabbrev, elt_own)}, "
                    f"per_index = {{{per}}}{static}}}")
        if isinstance(f, Repeat):
            elt = self.node(f.element, prefix, ppath, pabbrev, (f"{path}[]", abbrev))
            return f'{{k = "repeat", stop = {_count_lua(f.end)}, element = {elt}}}'
        return self.leaf(f, prefix, path, abbrev, None)


def _spec_lua(spec: TableSpec, proc=None) -> str:
    """A table layout as Lua data: {tag, name, fields}."""
    refs = {r.path for r in nodes_of(spec.fields, Ref)}
    local_names = {x.name for x in nodes_of(spec.fields, Local)}
    writer = _SpecWriter(refs, local_names)
    runs = [writer.nodes(fields, prefix, "", "")[1:-1] for prefix, fields in spec_parts(spec, proc)]
    missing = refs - writer.found
    if missing:
        raise ValueError(f"{spec.tag}: Ref to {sorted(missing)}, not an integer field before it")
    fields = ", ".join(r for r in runs if r)
    # a layout reading its own data (Ref, Local, Rest, Repeat) cannot be planned once
    # per dimensions
    reads_data = refs or local_names or contains(spec.fields, (Rest, Repeat))
    dynamic = ", dynamic = true" if reads_data else ""
    return (f"{{tag = {_lua_str(spec.tag)}, name = {_lua_str(spec.name)}{dynamic}, "
            f"fields = {{{fields}}}}}")


def _bit_parts_lua(parts) -> str:
    """(name, first bit, last bit) triples as a Lua list of {name, lo, hi}."""
    return "{" + ", ".join(f"{{{_lua_str(n)}, {lo}, {hi}}}" for n, lo, hi in parts) + "}"


def _dates_lua() -> list[str]:
    """The packed calendar types' layouts (types.py), for leaf_value."""
    months = ", ".join(f"[{m}] = {_bit_parts_lua(p)}" for m, p in RDATE_PARTS.items()
                       if m is not None)
    return [f"local YEAR_BASE = {YEAR_BASE}",
            f"local ANSI_DATE_PARTS = {_bit_parts_lua(ANSI_DATE_PARTS)}",
            f"local RDATE_MONTH = {{{RDATE_MONTH[0]}, {RDATE_MONTH[1]}}}",
            f"local RDATE_PARTS = {{{months}}}",
            f"local RDATE_OTHER_PARTS = {_bit_parts_lua(RDATE_PARTS[None])}"]


def _specs_lua() -> list[str]:
    out = [f"local MAX_SLOTS = {MAX_SLOTS}", f"local MFG_BASE = {MFG_BASE}",
           f"local PROCEDURE_NUMBER_MOD = {NUMBER_MASK + 1}",
           f"local PROCEDURE_TAGS = {_lua_set(_lua_str(t) for t in (BT07.tag, *RESPONSE_TABLES))}",
           f"local PROC_REQUEST_TAG = {_lua_str(BT07.tag)}",
           *_dates_lua(),
           f"local DIMENSION_SOURCES = {_lua_set(_lua_str(t) for t in sorted(DIMENSION_SOURCES))}",
           "local TABLE_SPECS = {}"]
    for tid, spec in sorted(CATALOG.items()):
        out.append(f"TABLE_SPECS[{tid}] = {_spec_lua(spec)}")
    out.append("local PROC_REQUEST, PROC_RESPONSE = {}, {}")
    for number, proc in sorted(PROCEDURES.items()):
        out.append(f"PROC_REQUEST[{number}] = {_spec_lua(request_spec(number), proc)}")
        resp = response_spec(number, "ET59")
        out.append(f"PROC_RESPONSE[{number}] = {_spec_lua(resp, proc)}")
        out.append(f"PROC_RESPONSE[{number}].label = {_lua_str(f'{proc.tag} {proc.name}')}")
    return out


def _kinds(*families: str) -> list[str]:
    return [sp.name for sp in (*framespec.FRAMES, *framespec.PLAIN_FRAMES)
            if sp.family in families]


def generate() -> str:
    """The complete text of mep.lua."""
    fields = all_fields()
    out: list[str] = []
    w = out.append
    w("-- mep.lua: Wireshark dissector for the MEP serial port of OSGP/NES (Echelon) meters.")
    w("-- GENERATED by `mep-dissector generate` from mepshark's scapy definitions.")
    w("-- Do not edit: change dissector/*.py or dissector/mep_runtime.lua.in and regenerate.")
    w("-- Wireshark 4.0 (Lua 5.2) to 4.6 (Lua 5.4).  Install: mep-dissector install")
    w("")
    w(_step_aside_lua())
    out.extend(c1218lua.head())
    w('local mep = Proto("mep", "MEP (Multipurpose Expansion Port)")')
    w("local sfmt = string.format")
    w("")
    w("-- ---- protocol facts (from the Python definitions) ----")
    consts = {
        "LEN_LEN": frames.LEN_LEN,
        "SEQ_LEN": frames.SEQ_LEN,
        "DIGEST_LEN": frames.DIGEST_LEN,
        "MAX_BODY": frames.MAX_BODY,
        "KEY_LEN": security.KEY_LEN,
        "MANUFACTURER_BASE": tables.MANUFACTURER_BASE,
        "SEQUENCE_ERROR": frames.SEQUENCE_ERROR,
        "MAX_RESPONSE_CODE": frames.MAX_RESPONSE_CODE,
        "TLS_HANDSHAKE": frames.TLS_HANDSHAKE,
        "TLS_RECORD_MAJOR": frames.TLS_RECORD_MAJOR,
        "TLS_CLIENT_KEY_EXCHANGE": frames.TLS_CLIENT_KEY_EXCHANGE,
        "PSK_IDENTITY_AT": frames.PSK_IDENTITY_AT + 1,  # 1-based in Lua
        "PSK_IDENTITY_LEN": frames.PSK_IDENTITY_LEN,
        "TO_METER": context.TO_METER,
        "FROM_METER": context.FROM_METER,
        "DIGEST_BAD": context.DIGEST_BAD,
        "DIGEST_GOOD": context.DIGEST_GOOD,
        "DIGEST_UNVERIFIED": context.DIGEST_UNVERIFIED,
        "DEFAULT_DLT": DLT_USER0,
        "DLT_FIRST": DLT_USER_RANGE.start,
        "DLT_LAST": DLT_USER_RANGE.stop - 1,
        "BAUD": frames.BAUD,
        "BITS_PER_BYTE": framespec.BITS_PER_BYTE,
        "COMMAND_END": framespec.COMMAND_END,
    }
    for k, v in consts.items():
        w(f"local {k} = {v}")
    w(f"local RESPONSE_TIMEOUT = {timing.RESPONSE_TIMEOUT!r}")
    w(f"local MIN_REQUEST_SPACING = {timing.MIN_REQUEST_SPACING!r}")
    w(f"local CONST_KEY = {_lua_bytes(security._CONST_KEY)}")
    w(_key_syntax_lua())
    w(f"local REQUEST_CODES = {_lua_map(frames.REQUEST_CODES)}")
    w(f"local TLS_REQUEST_CODES = {_lua_map(frames.TLS_REQUEST_CODES)}")
    w(f"local RESPONSE_CODES = {_lua_map(frames.RESPONSE_CODES)}")
    w(f"local TLS_RESPONSE_CODES = {_lua_map(frames.TLS_RESPONSE_CODES)}")
    w(f"local TLS_CONTENT_TYPES = {_lua_map(frames.TLS_CONTENT_TYPES, key=str)}")
    w(f"local PSK_KEY_IDS = {_lua_map(frames.PSK_KEY_IDS, key=str)}")
    w("local TAG_RANGES = {" + ", ".join(f"{{{a}, {b}, {_lua_str(f)}}}"
                                        for a, b, f in tables.TAG_RANGES) + "}")
    w(f"local OTHER_TAG = {_lua_str(tables.OTHER_TAG)}")
    w("local FAMILY = {" + ", ".join(f"{sp.name} = {_lua_str(sp.family)}"
                                    for sp in framespec.FRAMES) + "}")
    single = [sp for sp in framespec.FRAMES if sp.family in ("bare", "alert", "unknown")]
    w("local CLASS_OF = {" + ", ".join(f"{sp.family} = {_lua_str(sp.name)}" for sp in single)
      + "}")
    w(f"local RESEND_AFTER = {_lua_set(sorted(framespec.RESEND_AFTER))}")
    codes = sorted(frames.ALL_REQUEST_CODES)
    w(f"local REQUEST_CODE_SET = {_lua_set(f'0x{c:02X}' for c in codes)}")
    w("local TABLE_NAMES = {")
    for tid, (_tag, name) in sorted(tables.TABLES.items()):
        w(f"    [{tid}] = {_lua_str(name)},")
    w("}")
    rc4_req = {code: cls.__name__ for code, cls in frames.RC4_REQUESTS.items()}
    w(f"local RC4_REQUEST_CLASS = {_lua_map(rc4_req)}")
    sets = {
        "RC4_REQUEST_CLASSES": _kinds("request"),
        "RC4_RESPONSE_CLASSES": _kinds("response"),
        "PAIRED_REQUEST_CLASSES": list(framespec.response_rules()),
        "READ_CLASSES": [frames.RC4_REQUESTS[c].__name__ for c in sorted(frames.READ_CODES)],
        "OFFSET_CLASSES": [sp.name for sp in (*framespec.FRAMES, *framespec.PLAIN_FRAMES)
                           if sp.field("offset")],
    }
    for name, members in sets.items():
        w(f"local {name} = {_lua_set(_lua_str(m) for m in members)}")
    w("-- inside TLS: the plaintext kinds (few locals: Lua 5.2 allows 200 in one chunk)")
    plain = {
        "start": f"0x{TLS_START:02X}",
        "application_data": str(framespec.TLS_APPLICATION_DATA),
        "by_code": _lua_map(framespec.PLAIN_BY_CODE),
        "other": _lua_str(framespec.PLAIN_OTHER),
        "asking": _lua_set(_lua_str(m) for m in _kinds("request", "plain_request")),
        "responses": _lua_set(_lua_str(m) for m in _kinds("plain_response")),
    }
    w("local TLS_PLAIN = {" + ", ".join(f"{k} = {v}" for k, v in plain.items()) + "}")
    w("")
    w("-- ---- frame classes: field lists the runtime walks ----")
    w("-- ---- class selection, Info templates, problem and expert texts ----")
    out.extend(_frame_rules_lua())
    w("")
    w("local CLASSES, CHECK_FN = {}, {}")
    for sp in framespec.SPECS.values():
        w(_checks_fn(sp))
        w(_class_spec(sp))
    w("")
    w("-- ---- fields ----")
    w("local F = {}")
    for wf in fields:
        w(_protofield(wf))
    w('F["mep.tls.record"] = ProtoField.none("mep.tls.record", "TLS Record")')
    w("local field_list = {}")
    w("for _, f in pairs(F) do field_list[#field_list + 1] = f end")
    w("mep.fields = field_list")
    w("")
    w("-- ---- table and procedure layouts (catalog) ----")
    out.extend(_specs_lua())
    w("")
    w("-- ---- expert infos ----")
    w("local E = {}")
    for key, ab, text, group, sev in _EXPERTS:
        w(
            f"E.{key} = ProtoExpert.new({_lua_str(ab)}, {_lua_str(text)}, "
            f"expert.group.{group}, expert.severity.{sev})"
        )
    w("local expert_list = {}")
    w("for _, e in pairs(E) do expert_list[#expert_list + 1] = e end")
    w("mep.experts = expert_list")
    w("")
    w("-- ---- preferences ----")
    w(
        'mep.prefs.dlt = Pref.uint("User DLT", DEFAULT_DLT, '
        '"Link type of MEP captures: 147..162 (USER0..USER15)")'
    )
    key_help = "ASCII as the meter utility prints it, or 32 hex digits (hex:/ascii: to force)"
    w(f'mep.prefs.mak = Pref.string("MEP Advanced Key (MAK)", "", {_lua_str(key_help)})')
    w(f'mep.prefs.mbk = Pref.string("MEP Basic Key (MBK)", "", {_lua_str(key_help)})')
    w('mep.prefs.verify = Pref.bool("Verify digests", true, "Check every digest with the keys")')
    w('mep.prefs.decrypt = Pref.bool("Decrypt RC4", true, "Decrypt RC4-encrypted frames")')
    w("")
    out.extend(c1218lua.data())
    w("")
    decoders = ["local FAST, FAST_ITEMS = {}, {}"]
    for sp in (*framespec.FRAMES, *framespec.PLAIN_FRAMES):
        code = _fast_decoder(sp)
        if code:
            decoders.append(code)
    runtime = RUNTIME.read_text()
    if DECODERS_MARK not in runtime:
        raise ValueError(f"{RUNTIME.name} lacks the line {DECODERS_MARK}")
    runtime = runtime.replace(DECODERS_MARK, "\n".join(decoders))
    return "\n".join(out) + "\n\n" + runtime + "\n" + c1218lua.runtime()


def write(path: Path | None = None) -> Path:
    """Write mep.lua (default: next to this module, where the package ships it)."""
    path = path or OUTPUT
    path.write_text(generate())
    return path
