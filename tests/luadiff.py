"""Run tshark with the generated dissector and compare with the scapy decode.

Shared by the Lua tests and the benchmark: both sides are reduced to, per
capture record, a mapping ``abbreviation -> [values in tree order]`` plus
the Info column, whether the record was flagged malformed and its expert
texts in order (a malformed frame's problems in one ``Malformed MEP frame: ...``).
The capture tool's packet comments are left out on both sides: Wireshark
shows them itself, the Lua dissector cannot read them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

from mepshark.capture.pcapng import EPB_INBOUND, EPB_OUTBOUND, PcapngWriter
from mepshark.dissector.context import FROM_METER, TO_METER, note
from mepshark.dissector.framespec import MALFORMED
from mepshark.dissector.link import read_capture
from mepshark.dissector.security import Key
from mepshark.dissector.wsfields import all_fields, flatten

LUA = Path(os.environ.get("MEP_LUA") or Path(__file__).parent.parent / "dissector" / "mep.lua")
"""The dissector under test; MEP_LUA points the tests at another generated copy."""
FIELDS = {f.abbrev: f for f in all_fields()}
AGG = "\x1f"  # never in a value
LABEL_MAX = 239
"""Wireshark cuts item labels, expert texts too, to this many characters (ITEM_LABEL_LENGTH)."""


def tshark() -> str:
    path = shutil.which("tshark")
    if not path:
        raise RuntimeError("tshark is missing: install Debian's tshark (make test does)")
    return path


def key_prefs(keys: list[Key]) -> list[str]:
    out = []
    for k in keys:
        out += ["-o", f"mep.{k.name.lower()}:hex:{k.raw.hex()}"]
    return out


def run_tshark(
    pcap: Path, keys: list[Key] = (), extra: list[str] = (), *, two_pass: bool = True
) -> subprocess.CompletedProcess:
    """tshark with the dissector under test and the keys as preferences.

    Two passes (``-2``) unless ``two_pass=False``: a one-pass run sees no
    fields that only later frames reveal, as a live capture or a bare display
    filter would.
    """
    args = [tshark(), "-n", "-X", f"lua_script:{LUA}", "-r", str(pcap)]
    args += ["-2"] if two_pass else []
    args += key_prefs(keys)
    env = dict(os.environ, LC_ALL="C.UTF-8")
    return subprocess.run(
        [*args, *extra], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def filtered_frames(pcap: Path, keys: list[Key], display_filter: str) -> list[int]:
    """The numbers of the frames ``display_filter`` finds, in capture order."""
    proc = run_tshark(pcap, keys, ["-Y", display_filter, "-T", "fields", "-e", "frame.number"])
    if proc.returncode != 0 or "Lua" in proc.stderr:
        raise RuntimeError(f"tshark -Y {display_filter!r}: exit {proc.returncode}\n{proc.stderr}")
    return [int(n) for n in proc.stdout.split()]


def _norm(abbrev: str, text: str):
    ftype = FIELDS[abbrev].ftype
    if ftype.startswith(("uint", "int")) or ftype == "framenum":
        return int(text, 0)  # signed types print a minus sign
    if ftype == "bytes":
        return bytes.fromhex(text.replace(":", ""))
    if ftype == "bool":
        return text in ("1", "True", "true")
    if ftype == "reltime":
        return round(float(text), 6)
    return text


def lua_decode(pcap: Path, keys: list[Key] = ()) -> tuple[dict, str]:
    """tshark's view: {frame number: (fields, info, malformed, experts)} and stderr."""
    abbrevs = [a for a in FIELDS]
    extra = ["-T", "fields", "-E", "occurrence=a", "-E", f"aggregator={AGG}", "-E", "quote=n"]
    extra += ["-e", "frame.number", "-e", "_ws.col.Info", "-e", "_ws.expert.message"]
    extra += ["-e", "frame.comment"]
    for a in abbrevs:
        extra += ["-e", a]
    proc = run_tshark(pcap, keys, extra)
    out = {}
    for line in proc.stdout.splitlines():
        cols = line.split("\t")
        number, info, comments = int(cols[0]), cols[1], set(cols[3].split(AGG))
        experts = [m for m in cols[2].split(AGG) if m and m not in comments]
        fields = {}
        for a, text in zip(abbrevs, cols[4:], strict=True):
            if text:
                fields[a] = [_norm(a, t) for t in text.split(AGG)]
        malformed = any(m.startswith("Malformed MEP frame") for m in experts)
        out[number] = (fields, info, malformed, experts)
    return out, proc.stderr + ("" if proc.returncode == 0 else f"\nexit {proc.returncode}")


def scapy_experts(fi) -> list[str]:
    """A frame's expert texts as the Lua dissector adds them: the context's notes
    (but the capture tool's, from a packet comment), then the problems."""
    unframed = note("unframed", fi.unframed) if fi.unframed is not None else None
    out = [e for e in fi.expert if e != unframed]
    if fi.malformed:
        out.append(MALFORMED % "; ".join(fi.problems))
    return out


def scapy_decode(pcap: Path, keys: list[Key] = ()) -> dict:
    """scapy's view, in the same shape as :func:`lua_decode`."""
    records: dict[int, tuple[dict, list[str], bool, list[str]]] = {}
    for fi in read_capture(pcap, keys):
        fields, infos, bad, experts = records.setdefault(
            fi.number, (defaultdict(list), [], False, []))
        for abbrev, value in flatten(fi):
            if FIELDS[abbrev].ftype == "reltime":
                value = round(value, 6)
            fields[abbrev].append(value)
        infos.append(fi.summary())
        experts += scapy_experts(fi)
        records[fi.number] = (fields, infos, bad or fi.malformed, experts)
    # tshark -T fields cannot tell one empty string from no field at all
    return {
        n: ({a: v for a, v in f.items() if v != [""]}, " | ".join(i), m, e)
        for n, (f, i, m, e) in records.items()
    }


def write_records(path: Path, records: list[tuple[float, int | None, bytes]]) -> Path:
    """Write (time, direction, bytes) records; direction TO_METER/FROM_METER/None."""
    epb = {TO_METER: EPB_OUTBOUND, FROM_METER: EPB_INBOUND, None: None}
    with open(path, "wb") as f, PcapngWriter(f) as w:
        ifs = {
            TO_METER: w.add_interface("client", "client TXD"),
            FROM_METER: w.add_interface("meter", "meter TXD"),
            None: w.add_interface("line", "side unknown"),
        }
        for t, d, data in records:
            w.write(ifs[d], t, data, epb[d])
    return path


def differences(pcap: Path, keys: list[Key] = (), py: dict | None = None) -> list[str]:
    """Every disagreement between tshark+Lua and scapy on one capture (empty: none).

    ``py`` is :func:`scapy_decode` of the same capture and keys when the caller
    has it already (it is not changed).
    """
    lua, stderr = lua_decode(pcap, keys)
    if py is None:
        py = scapy_decode(pcap, keys)
    problems = []
    if "Lua" in stderr or "exit " in stderr:
        problems.append(f"tshark stderr: {stderr.strip()[:2000]}")
    return problems + compare(py, lua)


SHIM = Path(__file__).parent / "lua" / "shim.lua"
RUNNER = Path(__file__).parent / "lua" / "run.lua"


def shim_decode(pcap: Path, keys: list[Key], tmp: Path, lua: str = "lua5.4") -> dict:
    """Run mep.lua under a plain Lua interpreter through tests/lua/shim.lua.

    Same shape as :func:`lua_decode`; two passes like ``tshark -2``.
    """
    from scapy.utils import RawPcapNgReader

    lines, t0 = [], None
    with RawPcapNgReader(str(pcap)) as reader:
        for n, (data, meta) in enumerate(reader, 1):
            t = ((meta.tshigh << 32) + meta.tslow) / meta.tsresol
            t0 = t if t0 is None else t0
            d = {1: 1, 2: 0}.get(meta.direction, -1)
            lines.append(f"{n} {t - t0!r} {d} {data.hex()}")
    records = tmp / "records.txt"
    records.write_text("\n".join(lines) + "\n")
    by_name = {k.name: f"hex:{k.raw.hex()}" for k in keys}
    args = [lua, str(RUNNER), str(SHIM), str(LUA), str(records)]
    args += [by_name.get("MAK", ""), by_name.get("MBK", "")]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=True)
    out: dict = {}
    current = None
    for line in proc.stdout.splitlines():
        tag, *rest = line.split("\t")
        if tag == "R":
            current = int(rest[0])
            out[current] = ({}, rest[1] if len(rest) > 1 else "", False, [])
        elif tag == "F":
            abbrev, text = rest[0], rest[1] if len(rest) > 1 else ""
            if abbrev in FIELDS:
                out[current][0].setdefault(abbrev, []).append(_norm(abbrev, text))
        elif tag == "E":
            fields, info, bad, experts = out[current]
            experts.append(rest[0])
            out[current] = (fields, info, bad or rest[0].startswith("Malformed MEP frame"), experts)
    # as tshark -T fields shows it: a lone empty string is no field
    return {n: ({a: v for a, v in f.items() if v != [""]}, i, m, e)
            for n, (f, i, m, e) in out.items()}


def _same_experts(py: list[str], lua: list[str]) -> bool:
    """Equal, but where Wireshark cut a long text at its label limit."""
    return len(py) == len(lua) and all(
        p == q or (len(q) == LABEL_MAX and p.startswith(q)) for p, q in zip(py, lua, strict=True)
    )


def compare(py: dict, other: dict) -> list[str]:
    """Differences between two decodes of the shape returned above."""
    problems = []
    for n in sorted(set(py) | set(other)):
        if n not in other or n not in py:
            problems.append(f"frame {n}: only in {'scapy' if n in py else 'lua'}")
            continue
        (pf, pi, pm, pe), (lf, li, lm, le) = py[n], other[n]
        for a in sorted(set(pf) | set(lf)):
            if pf.get(a) != lf.get(a):
                problems.append(f"frame {n} {a}: scapy {pf.get(a)!r} lua {lf.get(a)!r}")
        if pi != li:
            problems.append(f"frame {n} info:\n  scapy {pi}\n  lua   {li}")
        if pm != lm:
            problems.append(f"frame {n} malformed: scapy {pm} lua {lm}")
        if pe != le and not _same_experts(pe, le):
            problems.append(f"frame {n} experts:\n  scapy {pe}\n  lua   {le}")
    return problems
