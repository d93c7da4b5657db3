"""Interpreter of the declarative catalog: layout, decode, encode.

:func:`layout` turns a table spec and the dimensions in force into the list
of leaf :class:`Slot` s with absolute offsets (arrays expanded, conditions
resolved, bit fields sharing their container's offset).  :func:`decode`
reads the slots lying wholly inside a partial window ``[offset,
offset+len(data))`` and never raises: what it cannot read goes into
``problems``.  :func:`encode` builds a table image from values, for round
trips and the simulator.

Decoding lays out only the part of an array that meets the window when the
array's elements are *static* (their size follows from the dimensions alone:
no Ref, Local, Rest or Repeat inside): the others are stepped over by their
size, computed once per array.  Load profile tables of thousands of intervals
thus decode anywhere, and sizes past the :data:`MAX_SLOTS` cap stay exact.

The Lua generator emits the same walk; keep every rule here expressible as
data in :mod:`.types` (no callables in specs).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .types import (
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
    Count,
    Dim,
    Expr,
    Field,
    Fill,
    Int,
    Leaf,
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
)

MAX_SLOTS = 20000
"""Cap on expanded leaves: corrupt dimensions must not hang the dissector.  Arrays
of static elements are stepped over arithmetically, so the cap bounds the leaves
laid out, not the size reached."""
MAX_ENCODE_PASSES = 64
"""encode() lays an image out again until it is stable (refs sizing later fields)."""

CAPTURE, DEFAULT, GIVEN, DATA = "capture", "default", "given", "data"
"""Where a dimension value came from: learned from the capture, the guide's
default, supplied by the caller, or read from the same table's data (Ref)."""


# ------------------------------------------------------------- dimensions


@dataclass(frozen=True)
class DimValue:
    """A dimension value and its provenance (``frame``: where it was learned)."""

    value: int
    source: str
    frame: int | None = None


class DimSource(Protocol):
    """Anything that answers :class:`Dim` lookups (see :class:`.context.DimensionContext`)."""

    def lookup(self, dim: Dim) -> DimValue: ...


class _Defaults:
    def lookup(self, dim: Dim) -> DimValue:
        return DimValue(dim.default, DEFAULT)


class MappingDims:
    """Dimensions given as ``{"BT21.nbr_summations": 15, ...}``; the rest default."""

    def __init__(self, values: Mapping[str, int]):
        self.values = dict(values)

    def lookup(self, dim: Dim) -> DimValue:
        if dim.key in self.values:
            return DimValue(int(self.values[dim.key]), GIVEN)
        return DimValue(dim.default, DEFAULT)


def as_dims(dims: DimSource | Mapping[str, int] | None) -> DimSource:
    """Normalise the ``dims`` argument of the public functions."""
    if dims is None:
        return _Defaults()
    if isinstance(dims, Mapping):
        return MappingDims(dims)
    return dims


# ------------------------------------------------------------------ slots

_IDENT = re.compile(r"[^0-9A-Za-z]+")


@dataclass(frozen=True)
class Slot:
    """One leaf field at its absolute offset.

    ``path`` is unique within the table (``tiers[1].fwd_active_wh_l1l2l3``);
    ``abbrev`` drops the indices and is the Wireshark field name after
    ``mep.<tag>.`` (``tiers.fwd_active_wh_l1l2l3``).  Bit fields carry their
    container's offset and size.
    """

    path: str
    abbrev: str
    offset: int
    size: int
    field: Leaf
    msb_first: bool = False

    @property
    def end(self) -> int:
        """First offset after the field."""
        return self.offset + self.size

    @property
    def ident(self) -> str:
        """``path`` as a Python identifier (scapy field name)."""
        return _IDENT.sub("_", self.path).strip("_")


@dataclass
class Plan:
    """Result of a layout walk: slots, table size, dimensions used, problems."""

    slots: list[Slot]
    size: int
    dims: dict[str, DimValue]
    problems: list[str] = field(default_factory=list)


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


_STATIC: dict[int, tuple[Field, bool]] = {}


def is_static(f: Field) -> bool:
    """Whether the size of ``f`` follows from the dimensions alone (Dim counts are
    fine; Ref, Local, Rest and Repeat read the data)."""
    got = _STATIC.get(id(f))
    if got is None or got[0] is not f:
        got = (f, not contains(f, (Ref, Local, Rest, Repeat)))
        _STATIC[id(f)] = got
    return got[1]


class _Walker:
    def __init__(
        self, dims: DimSource, data: bytes | None, data_offset: int, window: bool = True
    ):
        self.dims = dims
        self.data = data
        self.data_offset = data_offset
        # decoding: static array elements outside [lo, hi) are stepped over
        self.window = window and data is not None
        self.lo = data_offset
        self.hi = data_offset + (len(data) if data is not None else 0)
        self.sizes: dict[int, int] = {}
        self.slots: list[Slot] = []
        self.used: dict[str, DimValue] = {}
        self.problems: list[str] = []
        self.refs: dict[str, int] = {}
        self.locals: dict[str, int] = {}
        self.truncated = False
        self.cur = 0

    # counts and conditions -------------------------------------------
    def count(self, c: Count) -> int:
        if isinstance(c, bool):
            return int(c)
        if isinstance(c, int):
            return c
        if isinstance(c, Dim):
            dv = self.dims.lookup(c)
            self.used.setdefault(c.key, dv)
            return int(dv.value)
        if isinstance(c, Ref):
            if c.path in self.refs:
                self.used.setdefault(f"ref:{c.path}", DimValue(self.refs[c.path], DATA))
                return self.refs[c.path]
            self.used.setdefault(f"ref:{c.path}", DimValue(c.default, DEFAULT))
            return c.default
        if isinstance(c, Local):
            v = self.locals.get(c.name)
            self.used.setdefault(f"local:{c.name}", DimValue(c.default if v is None else v,
                                                           DEFAULT if v is None else DATA))
            return c.default if v is None else v
        if isinstance(c, Rest):
            if self.data is None:
                return 0
            return max(0, self.data_offset + len(self.data) - self.cur)
        if isinstance(c, Expr):
            vals = [self.count(a) for a in c.args]
            if c.op == "+":
                return sum(vals)
            if c.op == "-":
                return vals[0] - sum(vals[1:])
            if c.op == "*":
                r = 1
                for v in vals:
                    r *= v
                return r
            if c.op == "//":
                return vals[0] // vals[1] if vals[1] else 0
            raise ValueError(f"unknown operator {c.op!r}")
        raise TypeError(f"not a count: {c!r}")

    def size(self, c: Count) -> int:
        return max(0, self.count(c))

    def cond(self, c: Dim | Ref | Local | Cmp) -> bool:
        if isinstance(c, Cmp):
            a = self.count(c.left)
            b = c.right
            return {
                "==": a == b,
                "!=": a != b,
                "<": a < b,
                "<=": a <= b,
                ">": a > b,
                ">=": a >= b,
                "&": bool(a & b),
            }[c.op]
        return self.count(c) != 0

    def in_data(self, off: int) -> bool:
        return self.data is not None and 0 <= off - self.data_offset < len(self.data)

    def clip(self, first: int, end: int) -> None:
        """Drop the slots laid out since ``first`` that end past ``end``."""
        self.slots[first:] = [s for s in self.slots[first:] if s.end <= end]

    # walk --------------------------------------------------------------
    def emit(
        self, path: str, abbrev: str, off: int, size: int, leaf: Leaf, msb: bool = False
    ) -> None:
        if len(self.slots) >= MAX_SLOTS:
            if not self.truncated:
                self.problems.append(f"layout stopped after {MAX_SLOTS} fields")
                self.truncated = True
            return
        self.slots.append(Slot(path, abbrev, off, size, leaf, msb))
        if isinstance(leaf, (UInt, Int, Bits, Bool)) and self.data is not None:
            lo = off - self.data_offset
            if lo >= 0 and lo + size <= len(self.data):
                raw = self.data[lo : lo + size]
                v = int(decode_value(leaf, raw[::-1] if msb else raw))
                self.refs[path] = v
                self.locals[leaf.name] = v

    def walk(self, fields: Iterable[Field], off: int, ppath: str, pabbrev: str) -> int:
        # past the cap nothing more is laid out, but offsets go on (for the size)
        for f in fields:
            off = self.one(f, off, ppath, pabbrev, None)
        return off

    def static_size(self, f: Field) -> int:
        """Bytes of the static layout ``f``; the dimensions it reads are noted as a
        walk would note them (a walk's dimensions are fixed: computed once)."""
        got = self.sizes.get(id(f))
        if got is None:
            got = self._size_of(f)
            self.sizes[id(f)] = got
        return got

    def _size_of(self, f: Field) -> int:
        """The walk of ``one`` without slots, in the same order."""
        if isinstance(f, When):
            chosen = f.fields if self.cond(f.cond) else f.otherwise
            return sum(self._size_of(x) for x in chosen)
        if isinstance(f, Fill):
            return self.size(f.size)
        if isinstance(f, BitGroup):
            return f.size
        if isinstance(f, Record):
            inner = sum(self._size_of(x) for x in f.fields)
            return inner if f.size is None else self.size(f.size)
        if isinstance(f, Array):
            n = self.size(f.count)
            total = sum(self._size_of(e) for e in f.per_index[:n])
            if n > len(f.per_index):
                total += (n - len(f.per_index)) * self.static_size(f.element)
            return total
        if isinstance(f, Repeat):  # pragma: no cover - never static
            raise TypeError("a Repeat has no static size")
        return leaf_size(f, self)

    def one(
        self,
        f: Field,
        off: int,
        ppath: str,
        pabbrev: str,
        own_path: str | None = None,
        own_abbrev: str | None = None,
    ) -> int:
        """Lay out ``f`` at ``off``; array elements get ``own_path``/``own_abbrev``."""
        self.cur = off
        name = getattr(f, "name", "")
        path = own_path if own_path is not None else _join(ppath, name)
        abbrev = own_abbrev if own_abbrev is not None else _join(pabbrev, name)
        if isinstance(f, When):
            base, babbrev = (own_path, own_abbrev) if own_path is not None else (ppath, pabbrev)
            chosen = f.fields if self.cond(f.cond) else f.otherwise
            return self.walk(chosen, off, base, babbrev or "")
        if isinstance(f, Fill):
            return off + self.size(f.size)
        if isinstance(f, BitGroup):
            base, babbrev = (own_path, own_abbrev) if own_path is not None else (ppath, pabbrev)
            for part in f.parts:
                self.emit(_join(base, part.name), _join(babbrev or "", part.name), off, f.size,
                          part, f.msb_first)
            return off + f.size
        if isinstance(f, Record):
            start, first = off, len(self.slots)
            end = self.walk(f.fields, off, path, abbrev)
            if f.size is not None:
                end = start + self.size(f.size)
                self.clip(first, end)
            return end
        if isinstance(f, Repeat):
            start, first, end = off, len(self.slots), self.count(f.end)
            i = 0
            while off < end and not self.truncated and self.in_data(off):
                self.locals = {}
                nxt = self.one(f.element, off, ppath, pabbrev, f"{path}[{i}]", abbrev)
                if nxt <= off:  # an empty element would repeat forever
                    break
                off, i = nxt, i + 1
            if off > end:
                self.clip(first, end)
            return max(start, end)
        if isinstance(f, Array):
            n = self.size(f.count)
            npi = min(n, len(f.per_index))
            for i in range(npi):  # index-specific elements: few, always walked
                if f.flatten:
                    off = self.one(f.per_index[i], off, ppath, pabbrev)
                else:
                    off = self.one(f.per_index[i], off, ppath, pabbrev, f"{path}[{i}]", abbrev)
            static = n > npi and is_static(f.element)
            i = npi
            while i < n:
                if static and (self.truncated or self.window):
                    size = self.static_size(f.element)
                    if self.truncated:  # past the cap: the rest by its size
                        return off + (n - i) * size
                    # elements wholly before or after the window are stepped over
                    # (one touching its edge is laid out: it may hold a 0-byte field
                    # there, which a decode shows)
                    if size > 0 and off + size < self.lo:
                        k = min(n - i, (self.lo - off - 1) // size)
                        off, i = off + k * size, i + k
                        continue
                    if size > 0 and off > self.hi:
                        return off + (n - i) * size
                elif self.truncated:
                    break
                off = self.one(f.element, off, ppath, pabbrev, f"{path}[{i}]", abbrev)
                i += 1
            return off
        size = leaf_size(f, self)
        self.emit(path, abbrev, off, size, f)
        return off + size


def leaf_size(f: Leaf, w: _Walker | None = None) -> int:
    """Byte size of a leaf (counts resolved through ``w``)."""
    if isinstance(f, (UInt, Int)):
        return f.size
    if type(f) in FIXED_SIZES:
        return FIXED_SIZES[type(f)]
    if isinstance(f, Bcd):
        return f.nbytes
    if isinstance(f, Set):
        return w.size(f.nbytes) if w else int(f.nbytes)  # type: ignore[arg-type]
    if isinstance(f, (Chars, Bytes)):
        return w.size(f.n) if w else int(f.n)  # type: ignore[arg-type]
    raise TypeError(f"not a leaf: {f!r}")


def _fields_of(spec: TableSpec | Iterable[Field]) -> tuple[Field, ...]:
    return spec.fields if isinstance(spec, TableSpec) else tuple(spec)


def plan(
    spec: TableSpec | Iterable[Field],
    dims: DimSource | Mapping[str, int] | None = None,
    data: bytes | None = None,
    offset: int = 0,
    window: bool = True,
) -> Plan:
    """Lay out ``spec``; ``data`` (at table ``offset``) resolves Ref and Rest counts.

    With data and ``window``, arrays of static elements lay out only the elements
    meeting ``[offset, offset+len(data))`` (what a decode reads); the size is exact
    either way.
    """
    w = _Walker(as_dims(dims), data, offset, window)
    size = w.walk(_fields_of(spec), 0, "", "")
    return Plan(w.slots, size, w.used, w.problems)


def layout(
    spec: TableSpec | Iterable[Field], dims: DimSource | Mapping[str, int] | None = None
) -> list[Slot]:
    """Every leaf of ``spec`` with its absolute offset, for the dimensions ``dims``."""
    return plan(spec, dims).slots


def table_size(
    spec: TableSpec | Iterable[Field], dims: DimSource | Mapping[str, int] | None = None
) -> int:
    """Total bytes of ``spec`` under ``dims``."""
    return plan(spec, dims).size


# ------------------------------------------------------------ leaf values


def _le(raw: bytes, signed: bool = False) -> int:
    return int.from_bytes(raw, "little", signed=signed)


def _dt(y: int, mo: int, d: int, h: int, mi: int, s: int) -> dt.datetime | None:
    try:
        return dt.datetime(YEAR_BASE + y, mo, d, h, mi, s)
    except ValueError:
        return None


def _part(v: int, lo: int, hi: int) -> int:
    return (v >> lo) & ((1 << (hi - lo + 1)) - 1)


def _packed(parts: tuple[tuple[str, int, int], ...], values: Mapping[str, int]) -> int:
    return sum((values.get(name, 0) & ((1 << (hi - lo + 1)) - 1)) << lo
               for name, lo, hi in parts)


def decode_value(f: Leaf, raw: bytes) -> Any:
    """The value of leaf ``f`` from exactly its bytes (bit fields: the container)."""
    if isinstance(f, UInt):
        return _le(raw)
    if isinstance(f, Int):
        return _le(raw, signed=True)
    if isinstance(f, Bool):
        return bool((_le(raw) >> f.bit) & 1)
    if isinstance(f, Bits):
        width = f.hi - f.lo + 1
        v = (_le(raw) >> f.lo) & ((1 << width) - 1)
        if f.signed and v >= 1 << (width - 1):
            v -= 1 << width
        return v
    if isinstance(f, Set):
        return _le(raw)
    if isinstance(f, Chars):
        return raw.split(b"\x00", 1)[0].decode("latin-1")
    if isinstance(f, Bcd):
        return raw.hex().upper()
    if isinstance(f, Bytes):
        return bytes(raw)
    if isinstance(f, Time):
        h, m, s = raw
        try:
            return dt.time(h, m, s)
        except ValueError:
            return None
    if isinstance(f, STimeDate):
        return _dt(*raw, 0)
    if isinstance(f, LTimeDate):
        return _dt(*raw)
    if isinstance(f, RDate):
        v = _le(raw)
        month = _part(v, *RDATE_MONTH)
        parts = RDATE_PARTS.get(month, RDATE_PARTS[None])
        return {"month": month, **{name: _part(v, lo, hi) for name, lo, hi in parts}}
    if isinstance(f, AnsiDate):
        v = _le(raw)
        y, mo, d = (_part(v, lo, hi) for _, lo, hi in ANSI_DATE_PARTS)
        try:
            return dt.date(YEAR_BASE + y, mo, d)
        except ValueError:
            return None
    raise TypeError(f"not a leaf: {f!r}")


def _date_bytes(v: Any, n: int) -> bytes:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v[:n]).ljust(n, b"\0")
    if v is None:
        return bytes(n)
    if isinstance(v, dt.time):
        return bytes((v.hour, v.minute, v.second))
    parts = (v.year % 100, v.month, v.day, v.hour, v.minute, v.second)
    return bytes(parts[:n])


def encode_value(f: Leaf, v: Any, size: int) -> bytes:
    """Bytes of leaf ``f`` holding ``v`` (not for Bool/Bits: see :func:`merge_bits`)."""
    if isinstance(f, (UInt, Set)):
        return (int(v) & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    if isinstance(f, Int):
        return (int(v) & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    if isinstance(f, Chars):
        return str(v).encode("latin-1")[:size].ljust(size, b"\0")
    if isinstance(f, Bcd):
        return bytes.fromhex(str(v).rjust(2 * size, "0")[: 2 * size])
    if isinstance(f, Bytes):
        return bytes(v)[:size].ljust(size, b"\0")
    if isinstance(f, (Time, STimeDate, LTimeDate)):
        return _date_bytes(v, size)
    if isinstance(f, RDate):
        if isinstance(v, int):
            return v.to_bytes(2, "little")
        month = _packed((("month", *RDATE_MONTH),), v)
        x = month | _packed(RDATE_PARTS.get(month, RDATE_PARTS[None]), v)
        return x.to_bytes(2, "little")
    if isinstance(f, AnsiDate):
        if v is None:
            return bytes(2)
        values = {"year": v.year - YEAR_BASE, "month": v.month, "day": v.day}
        return _packed(ANSI_DATE_PARTS, values).to_bytes(2, "little")
    raise TypeError(f"not encodable alone: {f!r}")


def merge_bits(container: int, f: Bool | Bits, v: Any) -> int:
    """``container`` with bit field ``f`` set to ``v``."""
    if isinstance(f, Bool):
        return (container & ~(1 << f.bit)) | (int(bool(v)) << f.bit)
    width = f.hi - f.lo + 1
    mask = ((1 << width) - 1) << f.lo
    return (container & ~mask) | ((int(v) << f.lo) & mask)


# ------------------------------------------------------------- rendering


def render(f: Leaf, v: Any) -> str:
    """The value as a person reads it: unit, scale, enum name, calendar value."""
    if v is None:
        return "invalid"
    enum = getattr(f, "enum", None)
    if enum and isinstance(v, int) and not isinstance(v, bool):
        name = enum.get(v)
        return f"{name} ({v})" if name else f"Unknown ({v})"
    if isinstance(f, Bool):
        return "True" if v else "False"
    if isinstance(f, Set):
        names = f.flags or {}
        on = [names.get(i, str(i)) for i in range(v.bit_length()) if v >> i & 1]
        return ", ".join(on) if on else "none"
    if isinstance(f, (UInt, Int, Bits)):
        if getattr(f, "hex", False):
            return f"0x{v:0{2 * f.size}X}"
        scale = getattr(f, "scale", None)
        unit = getattr(f, "unit", None)
        text = f"{v * scale:.{_decimals(scale)}f}" if scale else str(v)
        return f"{text} {unit}" if unit else text
    if isinstance(f, Chars):
        return repr(v)
    if isinstance(f, Bytes):
        return v.hex(" ") if v else "(empty)"
    if isinstance(f, (dt.date, dt.time)) or hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    if isinstance(f, RDate):
        return ", ".join(f"{k}={x}" for k, x in v.items())
    return str(v)


def _decimals(scale: float) -> int:
    d = 0
    while scale < 1 and d < 6:
        scale *= 10
        d += 1
    return d


# ----------------------------------------------------------------- decode


@dataclass(frozen=True)
class DecodedField:
    """A decoded leaf: its slot, value, raw bytes and a note when invalid."""

    slot: Slot
    value: Any
    raw: bytes
    note: str | None = None

    @property
    def text(self) -> str:
        """Human rendering (units, enum names, dates)."""
        return render(self.slot.field, self.value)


@dataclass
class TableDecode:
    """What :func:`decode` found in a window of a table."""

    tag: str
    offset: int
    length: int
    size: int
    fields: list[DecodedField]
    dims: dict[str, DimValue]
    problems: list[str]

    def values(self) -> dict[str, Any]:
        """``{path: value}`` of every decoded leaf."""
        return {d.slot.path: d.value for d in self.fields}

    def dim(self, d: Dim) -> int:
        """The value of dimension ``d`` this decode was laid out with (its default
        when the layout did not use it)."""
        used = self.dims.get(d.key)
        return used.value if used is not None else d.default

    def get(self, path: str, default: Any = None) -> Any:
        """Value of one leaf by path."""
        for d in self.fields:
            if d.slot.path == path:
                return d.value
        return default

    @property
    def defaults_used(self) -> list[str]:
        """Dimensions that fell back to the guide's default (for the tree's note)."""
        return [k for k, v in self.dims.items()
                if v.source == DEFAULT and not k.startswith(("ref:", "local:"))]


def decode(
    spec: TableSpec | Iterable[Field],
    data: bytes,
    offset: int = 0,
    dims: DimSource | Mapping[str, int] | None = None,
    full: bool = False,
    tag: str | None = None,
) -> TableDecode:
    """Decode the leaves lying wholly inside ``[offset, offset+len(data))``.

    ``full``: the data claims to be the whole table (a full read), so ending
    early is reported.  Never raises on any bytes.
    """
    data = bytes(data)
    p = plan(spec, dims, data, offset)
    lo, hi = offset, offset + len(data)
    out: list[DecodedField] = []
    problems = list(p.problems)
    for s in p.slots:
        if s.offset >= lo and s.end <= hi:
            raw = data[s.offset - lo : s.end - lo]
            try:
                v = decode_value(s.field, raw[::-1] if s.msb_first else raw)
            except Exception as e:  # pragma: no cover - defensive, decoders are total
                v, note = None, f"undecodable: {e}"
            else:
                note = None
            if v is None and isinstance(s.field, (Time, STimeDate, LTimeDate, AnsiDate)):
                note = "not a valid date/time"
            out.append(DecodedField(s, v, raw, note))
        elif s.offset < hi and s.end > lo:
            problems.append(f"{s.path} at {s.offset}..{s.end - 1} cut by the window {lo}..{hi - 1}")
    if hi > p.size and len(data):
        extra = hi - max(lo, p.size)
        problems.append(f"{extra} byte(s) past the end of the {p.size}-byte layout")
    if full and (lo != 0 or hi < p.size):
        problems.append(f"short table: {len(data)} byte(s), layout expects {p.size}")
    name = tag or (spec.tag if isinstance(spec, TableSpec) else "")
    return TableDecode(name, offset, len(data), p.size, out, p.dims, problems)


# ----------------------------------------------------------------- encode


def encode(
    spec: TableSpec | Iterable[Field],
    values: Mapping[str, Any],
    dims: DimSource | Mapping[str, int] | None = None,
) -> bytes:
    """A table image with ``values`` (``{path: value}``); missing leaves are zero.

    Fields a :class:`Ref` depends on must come before it in the table, as in
    every guide layout; the image is laid out again until it no longer changes
    (one pass per level of dependency, e.g. per record of a :class:`Repeat`).
    """
    img = _encode_once(spec, values, dims, None)
    if any(k.startswith(("ref:", "local:")) for k in plan(spec, dims).dims):
        for _ in range(MAX_ENCODE_PASSES):  # each pass places one more repeated element
            nxt = _encode_once(spec, values, dims, img)
            if nxt == img:
                break
            img = nxt
    return img


def _encode_once(spec, values, dims, prev: bytes | None) -> bytes:
    p = plan(spec, dims, prev, 0, window=False)  # every slot, to place every value
    buf = bytearray(p.size)
    for s in p.slots:
        if s.path not in values:
            continue
        v = values[s.path]
        if isinstance(s.field, (Bool, Bits)):
            order = "big" if s.msb_first else "little"
            cur = int.from_bytes(bytes(buf[s.offset : s.end]), order)
            buf[s.offset : s.end] = merge_bits(cur, s.field, v).to_bytes(s.size, order)
        else:
            buf[s.offset : s.end] = encode_value(s.field, v, s.size)
    return bytes(buf)


def window(spec: TableSpec | Iterable[Field], dims=None, offset: int = 0, count: int | None = None):
    """Slots lying wholly inside ``[offset, offset+count)`` (all when ``count`` is None)."""
    slots = layout(spec, dims)
    if count is None:
        return slots
    return [s for s in slots if s.offset >= offset and s.end <= offset + count]


__all__ = [
    "CAPTURE",
    "DEFAULT",
    "GIVEN",
    "DATA",
    "DecodedField",
    "DimSource",
    "DimValue",
    "MappingDims",
    "Plan",
    "Slot",
    "TableDecode",
    "as_dims",
    "decode",
    "decode_value",
    "encode",
    "encode_value",
    "is_static",
    "layout",
    "merge_bits",
    "plan",
    "render",
    "table_size",
    "window",
]
