"""Fast frame decoding: the scapy classes' dissection, compiled from the same declarations.

Dissecting a frame with scapy costs tens of microseconds; a month of
captures is a million frames.  The capture context only needs each frame's
class, field values and problems, so :func:`decode_frame` computes exactly
those with one small function per frame kind, generated here from the
:class:`.framespec.FrameSpec` declarations (the same ones :mod:`.frames`
makes the scapy classes from), and a :class:`FrameView` builds the scapy
packet only when someone asks for it (``.pkt``).  The rules mirrored are
those of the scapy field classes in :mod:`.frames`: a record cut at the
length field, a number missing from where the bytes run out (and every
field after it), byte runs that never take a negative slice, the
declaration's consistency checks, bytes left over.  Kinds with TLS records
inside are decoded by scapy itself (they are rare and nest packets).
``tests/test_framedecode.py`` checks field for field that both agree on
generated and malformed frames.
"""

from __future__ import annotations

from typing import Any

from .catalog.types import Ref
from .frames import (
    CLASSES,
    LEN_LEN,
    MAX_BODY,
    MEP,
    PROBLEMS,
    MEPPacket,
    check_problem,
)
from .framespec import Num, Octets, Tail


class FrameView:
    """One frame as its scapy class would dissect it: class, field values,
    problems and bytes; the scapy packet itself is made on first use."""

    __slots__ = ("cls", "fields", "_problems", "frame_bytes", "_pkt")

    def __init__(self, cls: type[MEP], fields: dict, problems: list[str], frame_bytes: bytes,
                 pkt: MEP | None = None):
        self.cls, self.fields, self._problems = cls, fields, problems
        self.frame_bytes, self._pkt = frame_bytes, pkt

    @classmethod
    def of_packet(cls, pkt: MEP) -> FrameView:
        """A view of an already dissected (or built) scapy frame."""
        return cls(type(pkt), pkt.fields, pkt.problems, pkt.frame_bytes, pkt)

    @property
    def pkt(self) -> MEP:
        """The scapy packet of this frame (its bytes dissected by its class)."""
        pkt = self._pkt
        if pkt is None:
            cls = self.cls
            # The class is chosen already; MEP itself would choose again from the
            # first byte, and a record's later frame (a cut one, say 0xEE) would
            # turn into a C12.18 packet: ``_internal`` keeps it MEP, as next_frame does.
            pkt = self._pkt = cls(self.frame_bytes, **({"_internal": 1} if cls is MEP else {}))
        return pkt

    @property
    def spec(self):
        return self.cls.spec

    @property
    def problems(self) -> list[str]:
        if self._pkt is not None:
            return self._pkt.problems
        return list(self._problems)

    @property
    def malformed(self) -> bool:
        return bool(self.problems)

    @property
    def body_bytes(self) -> bytes:
        return self.frame_bytes[LEN_LEN:]

    def getfieldval(self, name: str) -> Any:
        f = self.fields
        return f[name] if name in f else self.pkt.getfieldval(name)  # (a default)

    info = MEPPacket.info
    """The Info template filled in, as the scapy packet's ``info`` does."""

    def mysummary(self) -> str:
        return self.info()


# ------------------------------------------------------------------ generation


def _field_lines(spec) -> list[str] | None:
    """Statements decoding ``spec``'s fields from ``s[at:n]`` into ``f``, or None
    for a kind the generator leaves to scapy (TLS records)."""
    out = []
    for fld in spec.fields:
        name = repr(fld.name)
        out.append("    if miss:")
        out.append(f"        miss.append({name}); f[{name}] = None")
        if isinstance(fld, Num):
            size = fld.size
            out.append(f"    elif n - at < {size}:")
            out.append(f"        miss.append({name}); f[{name}] = None")
            out.append("    else:")
            if size == 1:
                out.append(f"        f[{name}] = s[at]; at += 1")
            else:
                out.append(f"        f[{name}] = int.from_bytes(s[at:at + {size}], 'big')"
                           f"; at += {size}")
        elif isinstance(fld, Octets):
            out.append("    else:")
            count = fld.n
            if isinstance(count, Tail):
                out.append(f"        k = n - at - {count.keep}")
                out.append("        k = k if k > 0 else 0")
            elif isinstance(count, Ref):
                out.append(f"        k = f[{count.path!r}] or 0")
                out.append("        k = k if k > 0 else 0")
            else:
                out.append(f"        k = {int(count)}")
            out.append(f"        f[{name}] = s[at:at + k]; at = at + k if at + k < n else n")
        else:
            return None
    return out


def _source(cls: type[MEP]) -> str | None:
    """Python source of the decoder of one frame class (None: left to scapy)."""
    spec = cls.spec
    body = _field_lines(spec)
    if body is None:
        return None
    lines = [
        "def decode(s):",
        "    p = []",
        "    n = len(s)",
        "    if n >= 2:",
        "        length = (s[0] << 8) | s[1]",
        "        if length > MAX_BODY:",
        "            p.append(TOO_LONG % (length, MAX_BODY))",
        "        end = 2 + length",
        "        if n < end:",
        "            p.append(TRUNCATED % (n - 2, length))",
        "        elif n > end:",
        "            s = s[:end]",
        "            n = end",
        f"    if n < {cls.min_len}:",
        f"        p.append(SHORT % (n, {cls._name!r}, {cls.min_len}))",
        "    f = {}",
        "    miss = []",
        "    at = 0",
        *body,
        "    if miss:",
        "        p.append(MISSING % ', '.join(miss))",
    ]
    for check in cls.checks:
        lines.append(f"    c = check_problem({check[0]!r}, {check[1]!r}, {check[2]!r}, f)")
        lines.append("    if c:")
        lines.append("        p.append(c)")
    lines += [
        "    if at < n:",
        "        p.append(LEFT_OVER % (n - at))",
        "    return View(CLS, f, p, s[:2 + (f['length'] or 0)])",
    ]
    return "\n".join(lines) + "\n"


def _compile(cls: type[MEP]):
    src = _source(cls)
    if src is None:
        return None
    namespace = {
        "MAX_BODY": MAX_BODY, "TOO_LONG": PROBLEMS["too_long"],
        "TRUNCATED": PROBLEMS["truncated"], "SHORT": PROBLEMS["short"],
        "MISSING": PROBLEMS["missing"], "LEFT_OVER": PROBLEMS["left_over"],
        "check_problem": check_problem, "View": FrameView, "CLS": cls,
    }
    exec(compile(src, f"<framedecode {cls.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace["decode"]


DECODERS = {cls: _compile(cls) for cls in CLASSES.values() if issubclass(cls, MEP)}
"""Frame class -> its generated decoder (None: scapy decodes that kind)."""


_dispatch = MEP.dispatch_hook


def decode_frame(cls: type[MEP], s: bytes, later: bool = False) -> FrameView:
    """A frame's bytes ``s`` (nothing after them) dissected as ``cls(s)`` would be.
    (A C12.18 record is no MEP frame: the context hands those to its C12.18 part.)"""
    if cls is MEP:  # MEP(s) picks the class that fits (``later``: a record's later frame)
        cls = _dispatch(s, _internal=later)
    dec = DECODERS[cls]
    if dec is None or not s:  # (scapy leaves a packet of no bytes undissected)
        return FrameView.of_packet(cls(s))
    return dec(s)


def decode_record(record: bytes) -> list[FrameView]:
    """A capture record's frames, each classified and dissected as ``MEP(bytes)``
    and :attr:`.frames.MEP.next_frame` do it: cut at each length field, in turn."""
    n = len(record)
    if n <= LEN_LEN or n == LEN_LEN + ((record[0] << 8) | record[1]):  # the usual record
        return [decode_frame(_dispatch(record), record)]
    views, at = [], 0
    while at < n:
        end = at + LEN_LEN
        if end <= n:
            end += (record[at] << 8) | record[at + 1]
        s = record[at:end]
        # (a later frame is MEP whatever its first byte, as next_frame cuts it)
        views.append(decode_frame(_dispatch(s, _internal=at > 0), s, at > 0))
        at = end
    return views


def frame_view(cls: type[MEP], body: bytes) -> FrameView:
    """A body (without length field) as a frame of class ``cls``: :func:`.frames.frame_of`."""
    return decode_frame(cls, len(body).to_bytes(2, "big") + body)
