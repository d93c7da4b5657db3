"""dissector/guide-ids.csv: every table and procedure id the two guides define or list.

Columns: ``tag,id,name,guide,page,layout``.  ``id`` is what the wire carries
(ETxx and EPxx = 2048 + xx); ``guide`` is ``mep``, ``optical`` or ``both``;
``layout`` is ``guide`` when either guide lays the item out, else ``none``.
``page`` uses the numbering of the guide's table of contents (the MEP guide's
printed footers run 2 higher) and points at the layout (the MEP guide's when
both give one), else at the list or passage naming the item.

Rows with a layout must have a definition in the catalog; rows without one
must still be known by name (``mepshark.dissector.tables`` for tables, the
procedure catalog for procedures).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from mepshark.dissector.catalog.procedures import GUIDE_LAYOUTS, PROCEDURES, procedure_tag
from mepshark.dissector.catalog.registry import CATALOG
from mepshark.dissector.tables import GUIDE_IDS, TABLES

CSV = GUIDE_IDS
HEADER = ["tag", "id", "name", "guide", "page", "layout"]


def _rows() -> list[dict[str, str]]:
    with CSV.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


ROWS = _rows()
TABLE_ROWS = [r for r in ROWS if r["tag"][1] == "T"]
PROC_ROWS = [r for r in ROWS if r["tag"][1] == "P"]


def _wire_id(tag: str) -> int:
    n = int(tag[2:])
    return 2048 + n if tag[0] == "E" else n


def test_csv_shape():
    with CSV.open(newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == HEADER
    tags = [r["tag"] for r in ROWS]
    assert len(tags) == len(set(tags))
    for r in ROWS:
        assert r["tag"][:2] in {"BT", "ET", "BP", "EP"}, r
        assert int(r["id"]) == _wire_id(r["tag"]), r
        assert r["name"].strip(), r
        assert r["guide"] in {"mep", "optical", "both"}, r
        assert int(r["page"]) > 0, r
        assert r["layout"] in {"guide", "none"}, r
    assert len(TABLE_ROWS) > 90 and len(PROC_ROWS) == len(PROCEDURES)


def test_known_ids_from_the_guides():
    by_tag = {r["tag"]: r for r in ROWS}
    # Headings with typos in the MEP guide: ET46 (2046) and ET79 (0x0849).
    assert by_tag["ET46"]["id"] == "2094" and by_tag["ET79"]["id"] == "2127"
    assert by_tag["EP17"]["id"] == "2065" and by_tag["EP61"]["id"] == "2109"
    assert by_tag["BT04"]["guide"] == "both" and by_tag["ET92"]["guide"] == "optical"
    assert by_tag["ET01"]["layout"] == "none" and by_tag["ET55"]["layout"] == "guide"


@pytest.mark.parametrize("row", [r for r in TABLE_ROWS if r["layout"] == "guide"],
                         ids=lambda r: r["tag"])
def test_table_with_layout_is_in_the_catalog(row):
    spec = CATALOG.get(int(row["id"]))
    assert spec is not None, f"{row['tag']} {row['name']}: no TableSpec yet"
    assert spec.tag == row["tag"]
    assert spec.name == row["name"], "the tree and the Info column name it alike"


@pytest.mark.parametrize("row", TABLE_ROWS, ids=lambda r: r["tag"])
def test_table_is_known_by_name(row):
    entry = TABLES.get(int(row["id"]))
    assert entry is not None, f"{row['tag']} {row['name']}: missing from dissector/tables.py"
    assert entry[0] == row["tag"] and entry[1]


@pytest.mark.parametrize("row", PROC_ROWS, ids=lambda r: r["tag"])
def test_procedure_is_defined(row):
    proc = PROCEDURES.get(int(row["id"]))
    assert proc is not None, row["tag"]
    assert proc.tag == row["tag"] == procedure_tag(proc.number)
    assert proc.name == row["name"]
    assert (row["layout"] == "guide") == (proc.tag in GUIDE_LAYOUTS)


def test_every_procedure_is_listed():
    assert {p.tag for p in PROCEDURES.values()} == {r["tag"] for r in PROC_ROWS}


def test_docs_list_what_is_decoded():
    """docs/dissector.md's "What is decoded" names every table and procedure of the catalog."""
    page = (Path(__file__).resolve().parents[1] / "docs/dissector.md").read_text()
    start = page.index("## What is decoded")
    end = page.find("\n## ", start + 1)
    section = page[start:] if end < 0 else page[start:end]
    tags = {s.tag for s in CATALOG.values()} | {p.tag for p in PROCEDURES.values()}
    listed = set(re.findall(r"\b[BE][TP]\d\d\b", section))
    ranges = re.findall(r"\bBT(\d\d)\.\.BT(\d\d)\b", section)
    listed |= {f"BT{n:02d}" for lo, hi in ranges for n in range(int(lo), int(hi) + 1)}
    assert tags - listed == set()
