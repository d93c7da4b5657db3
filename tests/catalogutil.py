"""Helpers shared by the catalog tests (``tests/test_catalog*.py``).

Offsets of a layout, random values for every kind of leaf, round trips,
windows and the "any bytes decode without raising" check, written once.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping

from mepshark.dissector.catalog import DimensionContext, decode, encode, layout, plan, table_size
from mepshark.dissector.catalog.layout import Slot, TableDecode
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


def offsets(spec, dims=None) -> dict[str, int]:
    """Path -> absolute offset of every leaf of ``spec`` under ``dims``."""
    return {s.path: s.offset for s in layout(spec, dims)}


def context(learned: Mapping[str, Mapping[str, int]] | None = None) -> DimensionContext:
    """A capture context that has learned ``{tag: {field: value}}``."""
    ctx = DimensionContext()
    for tag, values in (learned or {}).items():
        ctx.learn_values(tag, values)
    return ctx


def random_value(rng: random.Random, slot: Slot):
    """A random value of the kind ``slot`` holds, one that decodes back unchanged."""
    f, n = slot.field, slot.size
    if isinstance(f, Bool):
        return rng.random() < 0.5
    if isinstance(f, Bits):
        w = f.hi - f.lo + 1
        return rng.randrange(-(1 << (w - 1)), 1 << (w - 1)) if f.signed else rng.randrange(1 << w)
    if isinstance(f, (UInt, Set)):
        return rng.randrange(256**n)
    if isinstance(f, Int):
        return rng.randrange(-(256**n) // 2, 256**n // 2)
    if isinstance(f, Chars):
        return "".join(rng.choice("ABCDEFP 0123-.") for _ in range(rng.randrange(n + 1)))
    if isinstance(f, Bcd):
        return "".join(rng.choice("0123456789") for _ in range(2 * n))
    if isinstance(f, Bytes):
        return random_bytes(rng, n)
    if isinstance(f, Time):
        return dt.time(rng.randrange(24), rng.randrange(60), rng.randrange(60))
    if isinstance(f, (STimeDate, LTimeDate)):
        return dt.datetime(2000 + rng.randrange(100), rng.randint(1, 12), rng.randint(1, 28),
                           rng.randrange(24), rng.randrange(60),
                           rng.randrange(60) if isinstance(f, LTimeDate) else 0)
    if isinstance(f, AnsiDate):
        return dt.date(2000 + rng.randrange(100), rng.randint(1, 12), rng.randint(1, 28))
    if isinstance(f, RDate):
        return rng.choice([
            {"month": rng.randrange(14), "offset": rng.randrange(16),
             "weekday": rng.randrange(8), "day": rng.randrange(32)},
            {"month": 14, "weekday": rng.randrange(8)},
            {"month": 15, "period": rng.randrange(64), "delta": rng.randrange(64)},
        ])
    raise AssertionError(f"no value for {f!r}")


def random_values(spec, dims=None, seed: int = 1) -> dict:
    """A random value per leaf of ``spec`` (or of a list of slots)."""
    rng = random.Random(seed)
    slots = spec if isinstance(spec, list) else layout(spec, dims)
    return {s.path: random_value(rng, s) for s in slots}


def settled_values(spec, dims=None, fixed: Mapping | None = None, seed: int = 1) -> dict:
    """:func:`random_values` with ``fixed`` on top, drawn again for the leaves that
    appear once the layout reads its own fields from the image, until it settles."""
    values = {**random_values(spec, dims, seed), **(fixed or {})}
    for _ in range(6):
        slots = plan(spec, dims, encode(spec, values, dims)).slots
        extra = {k: v for k, v in random_values(slots, seed=seed).items() if k not in values}
        if not extra:
            return values
        values.update(extra)
    raise AssertionError("layout does not settle")


def assert_round_trip(spec, values: Mapping, dims=None) -> bytes:
    """``values`` encode to a full-size image that decodes back to them and
    encodes again to the same bytes; returns the image."""
    image = encode(spec, values, dims)
    assert len(image) == table_size(spec, dims)
    d = decode(spec, image, 0, dims, full=True)
    assert d.problems == []
    assert d.values() == values
    assert encode(spec, d.values(), dims) == image
    return image


def assert_window(spec, image: bytes, values: Mapping, offset: int, count: int,
                  dims=None) -> TableDecode:
    """A window of ``image`` shows exactly the fields lying wholly inside it, with their values."""
    part = decode(spec, image[offset:offset + count], offset, dims)
    inside = {s.path for s in layout(spec, dims) if s.offset >= offset and s.end <= offset + count}
    assert {f.slot.path for f in part.fields} == inside
    assert all(f.value == values[f.slot.path] for f in part.fields)
    return part


def random_bytes(rng: random.Random, n: int) -> bytes:
    """``n`` random bytes."""
    return bytes(rng.randrange(256) for _ in range(n))


def assert_decodes_within(spec, raw: bytes, offset: int = 0, dims=None) -> TableDecode:
    """Any bytes decode without raising: every field lies inside them and renders."""
    d = decode(spec, raw, offset, dims, full=True)
    for f in d.fields:
        assert offset <= f.slot.offset and f.slot.end <= offset + len(raw)
        f.text  # noqa: B018
    return d
