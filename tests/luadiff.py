"""Run tshark with the generated dissector and compare with the scapy decode.

Shared by the Lua tests and the benchmark: both sides are reduced to, per
capture record, a mapping ``abbreviation -> [values in tree order]`` plus
the Info column, whether the record was flagged malformed and its expert
texts in order (a malformed frame's problems in one ``Malformed MEP frame: ...``).
The capture tool's packet comments are left out on both sides: Wireshark
shows them itself, the Lua dissector cannot read them.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

from mepshark.capture.pcapng import PcapngWriter
from mepshark.dissector import wireshark as ws
from mepshark.dissector.c1218lua import ws_fields as c1218_fields
from mepshark.dissector.c1218spec import MALFORMED as C1218_MALFORMED
from mepshark.dissector.c1218spec import NOTES as C1218_NOTES
from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND
from mepshark.dissector.context import FROM_METER, TO_METER, note
from mepshark.dissector.framespec import MALFORMED, NOTES, SCAPY_ONLY_NOTES
from mepshark.dissector.link import read_capture
from mepshark.dissector.security import Key
from mepshark.dissector.wsfields import all_fields, flatten

LUA = Path(os.environ.get("MEP_LUA") or Path(__file__).parent.parent / "dissector" / "mep.lua")
"""The dissector under test; MEP_LUA points the tests at another generated copy."""
FIELDS = {f.abbrev: f for f in [*all_fields(), *c1218_fields()]}
AGG = "\x1f"  # never in a value
LABEL_MAX = 239
"""Wireshark cuts item labels, expert texts too, to this many characters (ITEM_LABEL_LENGTH)."""


def tshark() -> str:
    path = shutil.which("tshark")
    if not path:
        raise RuntimeError("tshark is missing: install Debian's tshark (make test does)")
    return path


# --- tshark as a user whose -X lua_script: runs ----------------------------------------
# Wireshark 4.4 and later silently run no -X script for root, and CI runs the tests as
# root.  Then each tshark that needs the dissector runs as `nobody` (setpriv, from
# util-linux, on every Debian), reading copies of its input files from a folder
# nobody can read.  Nothing is installed anywhere: an install into the global plugin
# folder would change the machine for everyone else on it and for concurrent runs.
# Whether to do this is found out by asking tshark (a probe script), not assumed.


@functools.cache
def _share() -> Path:
    """A folder the tshark user can read: an empty HOME and copies of input files."""
    share = Path(tempfile.mkdtemp(prefix="mepshark-tshark-"))
    atexit.register(shutil.rmtree, share, True)
    share.chmod(0o755)
    (share / "home").mkdir(mode=0o755)
    return share


@functools.cache
def _prefix() -> tuple[str, ...]:
    """() or the setpriv command that runs tshark as nobody (see above)."""
    exe = tshark()
    info = ws.find_tshark(exe)
    env = tshark_env()
    prefix = tuple(ws.unprivileged_prefix(info, env))
    if ws.protocol_registered(info, env=env):
        raise RuntimeError(f"{exe} loads a MEP dissector from its global plugin folder, "
                           f"which would stand in for {LUA}: remove it (mep-dissector check)")
    return prefix


def tshark_env() -> dict:
    """The environment for tshark in tests: an empty HOME (no personal plugins)."""
    return dict(os.environ, HOME=str(_share() / "home"), LC_ALL="C.UTF-8")


def readable_home() -> Path:
    """A fresh, empty folder the tshark user can read, for a HOME with plugins in it."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=_share()))
    home.chmod(0o755)
    return home


def drops_privileges() -> bool:
    """Whether tshark_command runs tshark as another user (root on Wireshark 4.4+)."""
    return bool(_prefix())


def tshark_command(*args: str | os.PathLike) -> list[str]:
    """``tshark args`` as a user whose -X lua_script: runs (see above)."""
    return [*_prefix(), tshark(), *map(str, args)]


_COPIES: dict = {}


def readable(path: str | os.PathLike) -> Path:
    """``path``, or a copy of it that the tshark user can read."""
    path = Path(path)
    if not _prefix():
        return path
    st = path.stat()
    key = (path.resolve(), st.st_mtime_ns, st.st_size)
    if key not in _COPIES:
        copy = _share() / f"{len(_COPIES)}-{path.name}"
        shutil.copyfile(path, copy)
        copy.chmod(0o644)
        _COPIES[key] = copy
    return _COPIES[key]


def pyshark_tshark() -> str:
    """A ``tshark`` for pyshark's ``tshark_path``: tshark_command with tshark_env's HOME."""
    wrapper = _share() / "bin" / "tshark"
    if not wrapper.exists():
        wrapper.parent.mkdir(mode=0o755)
        argv = " ".join(shlex.quote(a) for a in tshark_command())
        wrapper.write_text(f'#!/bin/sh\nHOME={shlex.quote(tshark_env()["HOME"])} '
                           f'exec {argv} "$@"\n')
        wrapper.chmod(0o755)
    return str(wrapper)


def key_prefs(keys: list[Key]) -> list[str]:
    out = []
    for k in keys:
        out += ["-o", f"mep.{k.name.lower()}:hex:{k.raw.hex()}"]
    return out


def keylog_prefs(pcap: Path, keys: list[Key]) -> list[str]:
    """``-o tls.keylog_file:`` with the secrets of the capture's TLS sessions that
    the keys open (none: no option).  The Lua hands TLS records to Wireshark's
    TLS dissector, which takes secrets, not the MEP keys; scapy opens the same
    sessions with the keys themselves."""
    from mepshark.dissector.tlssecrets import track_sessions

    lines = list(track_sessions(read_capture(pcap, follow_tls=False), keys).keylog())
    if not lines:
        return []
    log = _share() / f"keylog-{len(_COPIES)}-{abs(hash(tuple(lines)))}.txt"
    log.write_text("".join(line + "\n" for line in lines))
    log.chmod(0o644)
    return ["-o", f"tls.keylog_file:{log}"]


def run_tshark(
    pcap: Path, keys: list[Key] = (), extra: list[str] = (), *, two_pass: bool = True,
    tls_secrets: bool = True,
) -> subprocess.CompletedProcess:
    """tshark with the dissector under test and the keys as preferences (and,
    unless ``tls_secrets`` is False, the TLS secrets they give as a key log).

    Two passes (``-2``) unless ``two_pass=False``: a one-pass run sees no
    fields that only later frames reveal, as a live capture or a bare display
    filter would.
    """
    args = tshark_command("-n", "-X", f"lua_script:{readable(LUA)}", "-r", readable(pcap))
    args += ["-2"] if two_pass else []
    args += key_prefs(keys)
    if keys and tls_secrets:
        args += keylog_prefs(pcap, keys)
    return subprocess.run(
        [*args, *extra], capture_output=True, text=True, env=tshark_env(), timeout=120,
        check=False,
    )


def filtered_frames(pcap: Path, keys: list[Key], display_filter: str) -> list[int]:
    """The numbers of the frames ``display_filter`` finds, in capture order."""
    proc = run_tshark(pcap, keys, ["-Y", display_filter, "-T", "fields", "-e", "frame.number"])
    if proc.returncode != 0 or "Lua" in proc.stderr:
        raise RuntimeError(f"tshark -Y {display_filter!r}: exit {proc.returncode}\n{proc.stderr}")
    return [int(n) for n in proc.stdout.split()]


def _norm(abbrev: str, text: str, from_tshark: bool = False):
    ftype = FIELDS[abbrev].ftype
    if ftype.startswith(("uint", "int")) or ftype == "framenum":
        return int(text, 0)  # signed types print a minus sign
    if ftype == "bytes":
        return bytes.fromhex(text.replace(":", ""))
    if ftype == "bool":
        return text in ("1", "True", "true")
    if ftype == "reltime":
        return round(float(text), 6)
    return _unescape(text) if from_tshark else text


_PROBE_STRING = "a\\x09\\b"
_STRING_PROBE = f"""
local p = Proto("mepshark_strings", "mepshark -T fields probe")
local f = ProtoField.string("mepshark_strings.s", "S")
p.fields = {{f}}
function p.dissector(tvb, pinfo, tree) tree:add(f, tvb(0, 1), [[{_PROBE_STRING}]]) end
DissectorTable.get("wtap_encap"):add(wtap_encaps.USER1, p)
"""


@functools.cache
def _fields_escape_backslashes() -> bool:
    """Whether ``tshark -T fields`` doubles backslashes in strings (4.4 does, 4.0 not).

    Asked of tshark with a probe dissector, so that string values compare on both.
    """
    from mepshark.capture.pcapng import PcapngWriter

    probe = _share() / "strings.lua"
    probe.write_text(_STRING_PROBE)
    probe.chmod(0o644)
    pcap = _share() / "strings.pcapng"
    with open(pcap, "wb") as f, PcapngWriter(f, dlt=148) as w:
        w.write(w.add_interface("probe"), 1.0, b"\x00")
    pcap.chmod(0o644)
    out = subprocess.run(
        tshark_command("-X", f"lua_script:{probe}", "-r", pcap, "-T", "fields",
                       "-e", "mepshark_strings.s"),
        capture_output=True, text=True, env=tshark_env(), timeout=60, check=True,
    ).stdout.strip()
    if out not in (_PROBE_STRING, _PROBE_STRING.replace("\\", "\\\\")):
        raise RuntimeError(f"tshark -T fields shows the string {_PROBE_STRING!r} as {out!r}")
    return out != _PROBE_STRING


def _unescape(text: str) -> str:
    """A string as tshark -T fields printed it, as the dissector gave it."""
    return text.replace("\\\\", "\\") if _fields_escape_backslashes() else text


def _template_pattern(text: str) -> str:
    """A regular expression matching ``text`` formatted with any ``%`` values."""
    return ".*".join(re.escape(part) for part in re.split(r"%[-+ #0-9.]*[a-zA-Z]", text))


_MEP_EXPERTS = re.compile("|".join(
    [_template_pattern(t) for _g, t in (*NOTES.values(), *C1218_NOTES.values())]
    + [_template_pattern(MALFORMED), _template_pattern(C1218_MALFORMED),
       re.escape("preference mep.") + ".*"]))


def is_mep_expert(text: str) -> bool:
    """Whether an expert text is the MEP (or C12.18) dissector's own.  Wireshark's TLS dissector,
    handed the records of TLS frames, adds its own (an exception on a record that
    makes no sense, say), which scapy has no counterpart for."""
    return _MEP_EXPERTS.fullmatch(text) is not None or (
        len(text) == LABEL_MAX and _MEP_EXPERTS.match(text) is not None)


def lua_decode(pcap: Path, keys: list[Key] = (), tls: list[str] | None = None
               ) -> tuple[dict, str]:
    """tshark's view: {frame number: (fields, info, malformed, experts)} and stderr.

    ``tls``: the tshark options that give TLS its secrets (default: a key log
    made with the keys, :func:`keylog_prefs`)."""
    abbrevs = [a for a in FIELDS]
    extra = ["-T", "fields", "-E", "occurrence=a", "-E", f"aggregator={AGG}", "-E", "quote=n"]
    extra += ["-e", "frame.number", "-e", "_ws.col.Info", "-e", "_ws.expert.message"]
    extra += ["-e", "frame.comment"]
    for a in abbrevs:
        extra += ["-e", a]
    if tls is not None:
        extra = [*tls, *extra]
    proc = run_tshark(pcap, keys, extra, tls_secrets=tls is None)
    out = {}
    for line in proc.stdout.splitlines():
        cols = line.split("\t")
        number, info = int(cols[0]), _unescape(cols[1])
        comments = set(_unescape(cols[3]).split(AGG))
        experts = [m for m in _unescape(cols[2]).split(AGG)
                   if m and m not in comments and is_mep_expert(m)]
        fields = {}
        for a, text in zip(abbrevs, cols[4:], strict=True):
            if text:
                fields[a] = [_norm(a, t, True) for t in text.split(AGG)]
        malformed = any(m.startswith(("Malformed MEP frame", C1218_MALFORMED[:16]))
                        for m in experts)
        out[number] = (fields, info, malformed, experts)
    return out, proc.stderr + ("" if proc.returncode == 0 else f"\nexit {proc.returncode}")


def scapy_experts(fi) -> list[str]:
    """A frame's expert texts as the Lua dissector adds them: the context's notes
    (but the capture tool's, from a packet comment), then the problems."""
    unframed = note("unframed", fi.unframed) if fi.unframed is not None else None
    out = [e for e in fi.expert if e != unframed]
    if fi.malformed:
        out.append(getattr(fi, "MALFORMED", MALFORMED) % "; ".join(fi.problems))
    return out


def scapy_decode(pcap: Path, keys: list[Key] = (), follow_tls: bool = True) -> dict:
    """scapy's view, in the same shape as :func:`lua_decode` (``follow_tls``
    False: TLS sessions left closed, as under the plain Lua shim, which has no
    TLS dissector)."""
    records: dict[int, tuple[dict, list[str], bool, list[str]]] = {}
    for fi in read_capture(pcap, keys, follow_tls=follow_tls):
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
            out[current] = (fields, info, bad or rest[0].startswith(
                ("Malformed MEP frame", C1218_MALFORMED[:16])), experts)
    # as tshark -T fields shows it: a lone empty string is no field
    return {n: ({a: v for a, v in f.items() if v != [""]}, i, m, e)
            for n, (f, i, m, e) in out.items()}


_SCAPY_ONLY = tuple(NOTES[k][1].split("%")[0] for k in SCAPY_ONLY_NOTES)


def _same_experts(py: list[str], lua: list[str]) -> bool:
    """Equal, but where Wireshark cut a long text at its label limit, and but for
    the notes only scapy gives (framespec.SCAPY_ONLY_NOTES)."""
    py = [p for p in py if not p.startswith(_SCAPY_ONLY)]
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
