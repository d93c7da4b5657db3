"""Decoded tables as text lines and as JSON, and the live values ``watch`` shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mepshark.dissector.catalog.layout import TableDecode
from mepshark.dissector.tables import table_id, table_label


def json_value(v: Any) -> Any:
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, dict):
        return {k: json_value(x) for k, x in v.items()}
    return v


def as_json(tag: str, dec: TableDecode | bytes, offset: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"table": tag, "name": table_label(table_id(tag)).split(" ", 1)[-1],
                           "offset": offset}
    if isinstance(dec, (bytes, bytearray)):
        out.update(count=len(dec), data=bytes(dec).hex())
        return out
    out.update(count=dec.length, size=dec.size,
               fields={d.slot.path: json_value(d.value) for d in dec.fields})
    if dec.problems:
        out["problems"] = dec.problems
    return out


def as_text(tag: str, dec: TableDecode | bytes, offset: int = 0) -> list[str]:
    head = table_label(table_id(tag))
    if isinstance(dec, (bytes, bytearray)):
        return [f"{head}: {len(dec)} bytes (no layout in the catalog)", f"  {bytes(dec).hex(' ')}"]
    lines = [f"{head}: {dec.length} bytes at offset {offset}"]
    width = max((len(d.slot.path) for d in dec.fields), default=0)
    for d in dec.fields:
        lines.append(f"  {d.slot.path:<{width}}  {d.text}")
    for p in dec.problems:
        lines.append(f"  ! {p}")
    return lines


WATCH_FIELDS = (
    ("BT28", "fwd_active_w_l1l2l3", "P", 1, "W"),
    ("BT28", "rms_voltage_l1", "U1", 1000, "V"),
    ("BT28", "rms_voltage_l2", "U2", 1000, "V"),
    ("BT28", "rms_voltage_l3", "U3", 1000, "V"),
    ("BT28", "rms_current_l1", "I1", 1000, "A"),
    ("BT28", "rms_current_l2", "I2", 1000, "A"),
    ("BT28", "rms_current_l3", "I3", 1000, "A"),
    ("BT28", "frequency", "f", 1000, "Hz"),
    ("BT23", "fwd_active_wh_l1l2l3", "E+", 1000, "kWh"),
)
"""(table, field, short label, divisor, unit) of one ``watch`` line."""


def watch_record(bt28: TableDecode, bt23: TableDecode) -> dict[str, Any]:
    src = {"BT28": bt28.values(), "BT23": bt23.values()}
    return {f"{tag}.{name}": src[tag].get(name) for tag, name, *_ in WATCH_FIELDS}


def watch_line(record: dict[str, Any], when: dt.datetime) -> str:
    parts = [when.strftime("%H:%M:%S")]
    for tag, name, label, div, unit in WATCH_FIELDS:
        v = record.get(f"{tag}.{name}")
        if v is None:
            continue
        digits = 3 if unit == "kWh" else (0 if div == 1 else 2)
        parts.append(f"{label}={v / div:.{digits}f} {unit}")
    return "  ".join(parts)
