"""Field vocabulary of the table catalog: plain, frozen data only.

Every table and procedure layout in the catalog is written with these
classes, which mirror the data types of the MEP guide (chapter 4, "Data
Types"): INTx/UINTx stored least significant byte first, BOOL(x) and
UINT(x..y) bit fields inside a little-endian container, FILL, SET(n),
ARRAY[n], NI_FMAT1/NI_FMAT2 (INT32 on these meters), TIME, STIME_DATE,
LTIME_DATE, RDATE, ANSI_DATE and fixed-length strings.

Nothing here is callable logic: sizes and counts that depend on other tables
are :class:`Dim` references or small :class:`Expr` trees over them, and
conditions are :class:`Cmp` records, so the Lua generator can read every rule
as data and emit the same arithmetic that :mod:`.layout` interprets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# ----------------------------------------------------------------- counts


@dataclass(frozen=True)
class Dim:
    """A value published by another table, e.g. ``Dim("BT21", "nbr_summations", 11)``.

    ``default`` is what the guide documents when the capture has not shown
    that table yet.
    """

    table: str
    field: str
    default: int

    @property
    def key(self) -> str:
        """``"BT21.nbr_summations"``."""
        return f"{self.table}.{self.field}"


@dataclass(frozen=True)
class Ref:
    """A field decoded earlier in the same table or procedure (by its path).

    Used where a layout depends on a value in the same data (e.g. EP19's
    request type).  ``default`` applies when that field lies outside the data.
    """

    path: str
    default: int


@dataclass(frozen=True)
class Expr:
    """Integer arithmetic over counts: ``op`` is one of ``+ - * //``.

    ``//`` rounds toward minus infinity, as the guide's ``(n+7)/8`` byte
    counts mean; results below zero count as zero wherever a size is needed.
    """

    op: str
    args: tuple[Count, ...]


@dataclass(frozen=True)
class Local:
    """A field laid out earlier in the current :class:`Repeat` element, by name.

    ``Local("length")`` sizes a message by the length word that starts its
    own record; outside a repeated element it is the latest field of that name
    in the table.  ``default`` applies when that field lies outside the data.
    """

    name: str
    default: int


@dataclass(frozen=True)
class Rest:
    """All bytes left in the data from here on (procedure parameters of an
    unknown procedure, opaque tails).  Zero when laid out without data."""


Count = int | Dim | Ref | Local | Rest | Expr
"""A size or element count: a constant, a dimension, a same-table field or arithmetic."""


def add(*args: Count) -> Expr:
    """``a + b + ...``."""
    return Expr("+", tuple(args))


def sub(a: Count, b: Count) -> Expr:
    """``a - b``."""
    return Expr("-", (a, b))


def mul(*args: Count) -> Expr:
    """``a * b * ...``."""
    return Expr("*", tuple(args))


def div(a: Count, b: Count) -> Expr:
    """Integer ``a // b``."""
    return Expr("//", (a, b))


def set_bytes(nbits: Count) -> Expr:
    """Bytes of a SET holding ``nbits`` flags: ``(nbits + 7) // 8``."""
    return div(add(nbits, 7), 8)


@dataclass(frozen=True)
class Cmp:
    """A condition ``left <op> right``; ``op`` is one of ``== != < <= > >= &``.

    ``&`` tests ``left & right != 0`` (a flag in a bit mask).
    """

    left: Count
    op: str = "!="
    right: int = 0


Cond = Dim | Ref | Local | Cmp
"""A condition: a count is true when non-zero, or an explicit comparison."""


# ------------------------------------------------------------------ leaves


@dataclass(frozen=True)
class UInt:
    """UINT8/16/24/32/40/48, least significant byte first."""

    name: str
    label: str
    size: int = 1
    unit: str | None = None
    enum: dict[int, str] | None = field(default=None, hash=False, compare=False)
    desc: str = ""
    scale: float | None = None
    hex: bool = False
    guide_type: str = ""


@dataclass(frozen=True)
class Int:
    """INT8..INT48, two's complement, least significant byte first."""

    name: str
    label: str
    size: int = 1
    unit: str | None = None
    enum: dict[int, str] | None = field(default=None, hash=False, compare=False)
    desc: str = ""
    scale: float | None = None
    guide_type: str = ""


@dataclass(frozen=True)
class Bool:
    """BOOL(bit) inside a :class:`BitGroup`; bit 0 is the container's LSB."""

    name: str
    label: str
    bit: int
    desc: str = ""


@dataclass(frozen=True)
class Bits:
    """UINT(lo..hi) or INT(lo..hi) inside a :class:`BitGroup`."""

    name: str
    label: str
    lo: int
    hi: int
    signed: bool = False
    unit: str | None = None
    enum: dict[int, str] | None = field(default=None, hash=False, compare=False)
    desc: str = ""


@dataclass(frozen=True)
class Set:
    """SET(n): ``nbytes`` bytes of flags; bit i is bit i%8 of byte i//8.

    The value is the little-endian integer of those bytes, so flag i is
    ``(value >> i) & 1``.
    """

    name: str
    label: str
    nbytes: Count
    desc: str = ""
    flags: dict[int, str] | None = field(default=None, hash=False, compare=False)


@dataclass(frozen=True)
class Chars:
    """ARRAY[n] OF CHAR: ASCII, NUL-padded (a NUL ends the string)."""

    name: str
    label: str
    n: Count
    desc: str = ""


@dataclass(frozen=True)
class Bcd:
    """ARRAY[2n] OF BCD packed into ``nbytes``: two decimal digits per byte, high nibble first."""

    name: str
    label: str
    nbytes: int
    desc: str = ""


@dataclass(frozen=True)
class Bytes:
    """Opaque bytes (reserved areas, data whose meaning lies elsewhere)."""

    name: str
    label: str
    n: Count
    desc: str = ""


@dataclass(frozen=True)
class _Calendar:
    """Base of the fixed-size date and time types: a name, a label, a description."""

    name: str
    label: str
    desc: str = ""


class Time(_Calendar):
    """TIME: hour, minute, second as three UINT8."""


class STimeDate(_Calendar):
    """STIME_DATE: 2-digit year, month, day, hour, minute as five UINT8."""


class LTimeDate(_Calendar):
    """LTIME_DATE: 2-digit year, month, day, hour, minute, second as six UINT8."""


class RDate(_Calendar):
    """RDATE: a recurring date packed in a UINT16 (variant chosen by MONTH)."""


class AnsiDate(_Calendar):
    """ANSI_DATE: UINT16 with YEAR UINT(0..6), MONTH UINT(7..10), DAY UINT(11..15)."""


YEAR_BASE = 2000
"""The year the 2-digit years of STIME_DATE/LTIME_DATE and ANSI_DATE's YEAR count from."""

ANSI_DATE_PARTS = (("year", 0, 6), ("month", 7, 10), ("day", 11, 15))
"""ANSI_DATE's parts: (name, first bit, last bit) of the UINT16."""

RDATE_MONTH = (0, 3)
"""RDATE's MONTH bits; the month value picks the layout of the rest (RDATE_PARTS)."""

RDATE_PARTS: dict[int | None, tuple[tuple[str, int, int], ...]] = {
    15: (("period", 4, 9), ("delta", 10, 15)),
    14: (("weekday", 8, 10),),
    None: (("offset", 4, 7), ("weekday", 8, 10), ("day", 11, 15)),  # any other month
}
"""RDATE's other parts by MONTH value: (name, first bit, last bit)."""


@dataclass(frozen=True)
class Fill:
    """FILLx: ``size`` bytes of zeroes that carry no field."""

    size: Count
    name: str = "filler"


# -------------------------------------------------------------- composites


@dataclass(frozen=True)
class BitGroup:
    """A ``size``-byte little-endian container holding BOOL/UINT(x..y) parts.

    Bits not covered by a part are FILL.  Every part shares the container's
    offset; the container itself shows no value of its own.
    """

    size: int
    parts: tuple[Bool | Bits, ...]
    msb_first: bool = False
    """True where the guide packs the container most significant byte first (BT01 versions)."""


@dataclass(frozen=True)
class Record:
    """A named structure.  With ``size`` the record occupies exactly that many
    bytes (fields past it are dropped, room left over is filler), as for
    ET13 entries whose size ET11 publishes."""

    name: str
    label: str
    fields: tuple[Field, ...]
    size: Count | None = None
    desc: str = ""


@dataclass(frozen=True)
class Array:
    """ARRAY[count] OF element.

    ``per_index`` gives index-specific elements (e.g. the named BT23
    summations, ET13's M-Bus entries 0..3); further indices use ``element``.
    With ``flatten`` the per-index elements appear under their own names
    (``fwd_active_wh_l1l2l3``) instead of ``summations[0]``.
    """

    name: str
    label: str
    count: Count
    element: Field
    per_index: tuple[Field, ...] = ()
    flatten: bool = False
    desc: str = ""


@dataclass(frozen=True)
class Repeat:
    """Elements back to back up to the table offset ``end`` (a record list).

    The guide's ET52/ET53 hold length-prefixed messages until a closing word
    at B-2: how many there are follows from the data alone.  Elements are laid
    out only where the data reaches (a layout without data has none); those
    running past ``end`` are cut there, and the list always spans
    ``start..end`` so the fields after it keep their offsets.
    """

    name: str
    label: str
    element: Field
    end: Count
    desc: str = ""


@dataclass(frozen=True)
class When:
    """``IF cond THEN fields``: the fields exist only while ``cond`` holds.

    ``otherwise`` is laid out instead when the condition is false.
    """

    cond: Cond
    fields: tuple[Field, ...]
    otherwise: tuple[Field, ...] = ()


Leaf = (UInt | Int | Bool | Bits | Set | Chars | Bcd | Bytes | Time | STimeDate | LTimeDate
        | RDate | AnsiDate)
Field = (UInt | Int | Set | Chars | Bcd | Bytes | Time | STimeDate | LTimeDate | RDate
         | AnsiDate | Fill | BitGroup | Record | Array | Repeat | When)

LEAF_TYPES = (UInt, Int, Bool, Bits, Set, Chars, Bcd, Bytes, Time, STimeDate, LTimeDate,
              RDate, AnsiDate)
FIXED_SIZES = {Time: 3, STimeDate: 5, LTimeDate: 6, RDate: 2, AnsiDate: 2}
"""Sizes of the fixed-size date and time types."""


@dataclass(frozen=True)
class TableSpec:
    """One table: its tag (``"BT23"``), guide name and fields from offset 0."""

    tag: str
    name: str
    fields: tuple[Field, ...]
    desc: str = ""

    @property
    def tid(self) -> int:
        """The table id (``BT23`` -> 23, ``ET03`` -> 2051)."""
        from ..tables import table_id

        return table_id(self.tag)


@dataclass(frozen=True)
class ProcedureSpec:
    """One procedure: parameters written to BT07 after the 3-byte header and
    response data read from BT08/ET59/ET85 after the 4-byte header.

    ``number`` is the 12-bit procedure number as the header carries it
    (EPxx = 2048 + xx); ``result_codes`` holds this procedure's own meanings
    of the result code, overriding the ANSI ones.
    """

    number: int
    tag: str
    name: str
    params: tuple[Field, ...] = ()
    response: tuple[Field, ...] = ()
    result_codes: dict[int, str] = field(default_factory=dict, hash=False, compare=False)
    desc: str = ""


def nodes_of(obj: object, kinds: type | tuple[type, ...]) -> Iterator[Any]:
    """Every ``kinds`` object inside ``obj`` (a spec, field, count or a tuple of them),
    depth first: the one walk over spec trees that the checks below share."""
    if isinstance(obj, kinds):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from nodes_of(x, kinds)
    elif hasattr(obj, "__dataclass_fields__"):
        for n in obj.__dataclass_fields__:
            yield from nodes_of(getattr(obj, n), kinds)


def contains(obj: object, kinds: type | tuple[type, ...]) -> bool:
    """Whether ``obj`` holds a ``kinds`` anywhere."""
    return next(nodes_of(obj, kinds), None) is not None


# ------------------------------------------------------------ constructors


def uint8(name: str, label: str, **kw) -> UInt:
    """UINT8."""
    return UInt(name, label, 1, guide_type="UINT8", **kw)


def uint16(name: str, label: str, **kw) -> UInt:
    """UINT16."""
    return UInt(name, label, 2, guide_type="UINT16", **kw)


def uint24(name: str, label: str, **kw) -> UInt:
    """UINT24."""
    return UInt(name, label, 3, guide_type="UINT24", **kw)


def uint32(name: str, label: str, **kw) -> UInt:
    """UINT32."""
    return UInt(name, label, 4, guide_type="UINT32", **kw)


def int16(name: str, label: str, **kw) -> Int:
    """INT16."""
    return Int(name, label, 2, guide_type="INT16", **kw)


def int32(name: str, label: str, **kw) -> Int:
    """INT32."""
    return Int(name, label, 4, guide_type="INT32", **kw)


def ni_fmat1(name: str, label: str, **kw) -> Int:
    """NI_FMAT1: BT00 declares it a 4-byte signed integer on these meters."""
    return Int(name, label, 4, guide_type="NI_FMAT1", **kw)


def ni_fmat2(name: str, label: str, **kw) -> Int:
    """NI_FMAT2: BT00 declares it a 4-byte signed integer on these meters."""
    return Int(name, label, 4, guide_type="NI_FMAT2", **kw)


def flag(name: str, label: str, bit: int, desc: str = "") -> Bool:
    """BOOL(bit)."""
    return Bool(name, label, bit, desc)


def bits(name: str, label: str, lo: int, hi: int, **kw) -> Bits:
    """UINT(lo..hi)."""
    return Bits(name, label, lo, hi, **kw)


def byte_flags(*parts: Bool | Bits, size: int = 1) -> BitGroup:
    """A BitGroup of ``size`` bytes."""
    return BitGroup(size, tuple(parts))
