"""MEP frame kinds declared as data: one :class:`FrameSpec` per kind of frame.

A frame is a 2-byte big-endian length and a body of that many bytes (guide,
chapter 2).  Each kind below names its first body byte(s), its fields in
order (sizes fixed, linked to an earlier field by :class:`Ref`, or running to
the end of the body but a trailer), its Info template and, for responses,
which requests it answers.  Counts that cover a byte run say so
(``length_of``): the builder fills them in and both dissectors check them.

From these declarations :mod:`.frames` makes the scapy classes and
:mod:`.luagen` the Lua field lists, decoders, class selection and Info
texts; the problem and expert texts at the end are formatted with ``%`` in
Python and ``string.format`` in Lua, so both dissectors say the same words.

Adding a frame kind: add its :class:`FrameSpec` to :data:`FRAMES`, run
``mep-dissector generate`` and add tests; neither dissector needs code (a
new field's Wireshark name comes from its own name, or from
``wsfields._NAMES``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .catalog.types import Ref
from .codes import (  # noqa: F401 - re-exported: the frame facts in one place
    AUTH_FAILURE,
    NO_PERMISSION,
    NOT_POSSIBLE,
    OK,
    REQUEST_CODES,
    RESPONSE_CODES,
    SEQUENCE_ERROR,
    TABLE_ERROR,
    TLS_REQUEST_CODES,
    TLS_RESPONSE_CODES,
    UNRECOGNIZED,
    UNSUPPORTED,
)

MAX_BODY = 476
"""Largest body a frame may carry (the length field excludes itself)."""
BAUD = 9600
"""The MEP port's line speed (8N1): capture default and response-deadline arithmetic."""
LEN_LEN = 2
SEQ_LEN = 4
DIGEST_LEN = 8
MAX_READ = MAX_BODY - 1 - 2 - DIGEST_LEN
"""Most table bytes one read response carries (code, count and digest besides): 465."""
MAX_RESPONSE_CODE = max(RESPONSE_CODES)
"""Response codes run 0x00..0x0C, below every request code."""
RESPONSE_CODE_RANGE = range(MAX_RESPONSE_CODE + 1)
READ_CODES = frozenset({0x30, 0x3F})
WRITE_CODES = frozenset({0x40, 0x4F})

TLS_CONTENT_TYPES = {
    20: "Change Cipher Spec",
    21: "Alert",
    22: "Handshake",
    23: "Application Data",
    24: "Heartbeat",
}
TLS_VERSIONS = {0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}
TLS_RECORD_MAJOR = 3
"""A TLS record's version starts with this byte: with a known content type, what
makes bytes look like a record."""
TLS_HANDSHAKE = 22
TLS_APPLICATION_DATA = 23
TLS_CLIENT_KEY_EXCHANGE = 0x10
PSK_IDENTITY_AT = 6
"""Offset of the PSK identity in a ClientKeyExchange: type (1), length (3), identity length (2)."""
PSK_IDENTITY_LEN = 3
"""A MEP PSK identity: client id (2 bytes, least significant first) and key id."""
PSK_KEY_IDS = {0: "MBK", 1: "MAK"}
"""Key id in the PSK identity a MEP client sends (guide, PSK Identity Hint)."""


# ------------------------------------------------------------------ vocabulary


@dataclass(frozen=True)
class Num:
    """A big-endian unsigned integer of ``size`` bytes.

    ``values`` names its values (``unknown`` formats one without a name);
    ``table`` marks a table id (shown with its tag or guide name);
    ``length_of`` names the byte field whose length this is.
    """

    name: str
    size: int
    default: int | None = 0
    values: dict[int, str] | None = field(default=None, hash=False, compare=False)
    unknown: str = "0x%02X"
    hex: bool = False
    table: bool = False
    length_of: str | None = None


@dataclass(frozen=True)
class Tail:
    """The rest of the body but the last ``keep`` bytes (the trailer after it)."""

    keep: int = 0


@dataclass(frozen=True)
class Octets:
    """Bytes: ``n`` of them (a number), as many as an earlier :class:`Num` says
    (``Ref``; fewer when the frame ends first), or up to a trailer (:class:`Tail`)."""

    name: str
    n: int | Ref | Tail
    default: bytes = b""


@dataclass(frozen=True)
class Records:
    """TLS records, one after another, while the bytes look like one."""

    name: str
    record: str
    """Name of the record's :class:`FrameSpec` (in :data:`RECORDS`)."""


@dataclass(frozen=True)
class FrameSpec:
    """One kind of frame (or the TLS record inside one).

    ``codes``: the first body bytes that select it on their own (requests,
    unknown bodies: none).  ``answers``: for a response, the request kinds
    (spec names) it is the answer to, with ``answer_codes`` the response
    codes that give this layout.  ``guess``: for a response seen without its
    request, what its shape must be (``"records"``: TLS records follow the
    code; a number: the body has exactly that many bytes).
    ``info``: the Info template; ``{field}`` prints the value (None when
    missing), ``{field:name}`` its name, ``{field:hex32}`` as 0x%08X,
    ``{field:table}`` a table's tag (alone) or guide name (in context),
    ``{field:list}`` a record list ("N byte(s)" of ``data`` when empty).
    """

    name: str
    title: str
    family: str
    """request, response, tls_request, tls_response, alert, unknown, bare, record."""
    fields: tuple
    info: str
    codes: tuple[int, ...] = ()
    answers: tuple[str, ...] = ()
    answer_codes: tuple[int, ...] | None = ()
    """None: every code the other kinds answering the same requests leave."""
    guess: str | int | None = None
    guess_codes: tuple[int, ...] | None = None
    """Codes for which ``guess`` is tried (default: ``answer_codes``)."""
    prefix: str = "mep"
    trailing_check: bool = False
    """Bytes left after the records (``data``) are a problem."""
    least: int | None = None
    """Bytes the frame needs at the least, when more than its fixed fields."""
    error_note: str | None = None
    """A response: the :data:`NOTES` key for a code other than 0 (with the code's name)."""
    at_most: tuple[str, str] | None = None
    """A response: (its field, its request's field) that it may not exceed (with code 0)."""
    opened: str | None = None
    """A TLS frame: its Info template when its records are opened (the plaintext's
    own Info follows, see ``INFO["opened"]``)."""

    @property
    def min_len(self) -> int:
        """Bytes the frame needs at the least, length field included."""
        n = sum(f.size if isinstance(f, Num) else f.n for f in self.fields
                if isinstance(f, Num) or (isinstance(f, Octets) and isinstance(f.n, int)))
        return max(n, self.least or 0)

    @property
    def code_field(self) -> Num:
        """The code field: the first after the length field (responses, requests)."""
        return next(f for f in self.fields if f.name != "length")

    def field(self, name: str):
        for f in self.fields:
            if f.name == name:
                return f
        return None


def _length() -> Num:
    return Num("length", 2, default=None, length_of="body")


def _code(name: str, default: int, values: dict[int, str], unknown: str = "0x%02X") -> Num:
    return Num(name, 1, default, values, unknown, hex=True)


_DIGEST = Octets("digest", DIGEST_LEN, b"\x00" * DIGEST_LEN)
_SEQ = Num("sequence", SEQ_LEN, hex=True)
_TABLE = Num("table_id", 2, table=True, hex=True)
_OFFSET = Num("offset", 3)


def _rc4_request(name: str, title: str, code: int, offset: bool, write: bool) -> FrameSpec:
    fields = [_length(), _code("request_code", code, REQUEST_CODES, "Request"), _TABLE]
    if offset:
        fields.append(_OFFSET)
    if write:
        fields += [Num("count", 2, default=None, length_of="data"),
                   Octets("data", Tail(SEQ_LEN + DIGEST_LEN))]
    else:
        fields.append(Num("count", 2))
    fields += [_SEQ, _DIGEST]
    off = " off={offset}" if offset else ""
    return FrameSpec(name, title, "request", tuple(fields),
                     "{request_code:name} {table_id:table}" + off
                     + " cnt={count} seq={sequence:hex32}", codes=(code,))


TLS_RECORD = FrameSpec(
    "MEPTLSRecord", "TLS Record", "record",
    (_code("content_type", 22, TLS_CONTENT_TYPES, "type %d"),
     Num("version", 2, 0x0303, TLS_VERSIONS, hex=True),
     Num("length", 2, default=None, length_of="content"),
     Octets("content", Ref("length", 0))),
    "{content_type:name}", prefix="mep.tls.record",
)
RECORDS = {TLS_RECORD.name: TLS_RECORD}

_RC4_REQUESTS = ("MEPFullTableRead", "MEPPartialTableRead", "MEPFullTableWrite",
                 "MEPPartialTableWrite")

FRAMES: tuple[FrameSpec, ...] = (
    FrameSpec("MEP", "MEP", "bare", (_length(),), "MEP frame len={length}"),
    FrameSpec("MEPAlert", "MEP Alert", "alert", (_length(),), "Alert"),
    _rc4_request("MEPFullTableRead", "MEP Full Table Read", 0x30, False, False),
    _rc4_request("MEPPartialTableRead", "MEP Partial Table Read", 0x3F, True, False),
    _rc4_request("MEPFullTableWrite", "MEP Full Table Write", 0x40, False, True),
    _rc4_request("MEPPartialTableWrite", "MEP Partial Table Write", 0x4F, True, True),
    FrameSpec(
        "MEPReadResponse", "MEP Read Response", "response",
        (_length(), _code("response_code", OK, RESPONSE_CODES, "Response 0x%02X"),
         Num("count", 2, default=None, length_of="data"), Octets("data", Tail(DIGEST_LEN)),
         _DIGEST),
        "{response_code:name} cnt={count}",
        answers=("MEPFullTableRead", "MEPPartialTableRead"), answer_codes=(OK,),
        error_note="error_response", at_most=("count", "count"),
    ),
    FrameSpec(
        "MEPWriteResponse", "MEP Write Response", "response",
        (_length(), _code("response_code", OK, RESPONSE_CODES, "Response 0x%02X"), _DIGEST),
        "{response_code:name}",
        answers=("MEPFullTableWrite", "MEPPartialTableWrite"), answer_codes=(OK,),
        guess=1 + DIGEST_LEN, error_note="error_response",
    ),
    FrameSpec(
        "MEPSequenceResponse", "MEP Invalid Sequence Response", "response",
        (_length(), _code("response_code", SEQUENCE_ERROR, RESPONSE_CODES, "Response 0x%02X"),
         Num("sequence", SEQ_LEN, hex=True), _DIGEST),
        "{response_code:name} seq={sequence:hex32}",
        answers=_RC4_REQUESTS, answer_codes=(SEQUENCE_ERROR,), error_note="error_response",
    ),
    FrameSpec(
        "MEPErrorResponse", "MEP Error Response", "response",
        (_length(), _code("response_code", UNRECOGNIZED, RESPONSE_CODES, "Response 0x%02X"),
         _DIGEST),
        "{response_code:name}", answers=_RC4_REQUESTS, answer_codes=None,
        error_note="error_response",
    ),
    FrameSpec(
        "MEPTLSRequest", "MEP TLS Request", "tls_request",
        (_length(), _code("code", 0x80, TLS_REQUEST_CODES, "TLS request"),
         Records("records", TLS_RECORD.name), Octets("data", Tail(0))),
        "{code:name} [{records:list}]", codes=tuple(TLS_REQUEST_CODES), prefix="mep.tls",
        trailing_check=True, opened="{code:name}",
    ),
    FrameSpec(
        "MEPTLSResponse", "MEP TLS Response", "tls_response",
        (_length(), _code("code", 0x00, TLS_RESPONSE_CODES, "code 0x%02X"),
         Records("records", TLS_RECORD.name), Octets("data", Tail(0))),
        "TLS {code:name} [{records:list}]", answers=("MEPTLSRequest",), answer_codes=None,
        guess="records", guess_codes=tuple(TLS_RESPONSE_CODES), prefix="mep.tls",
        error_note="tls_error_response",
        trailing_check=True, opened="TLS {code:name}",
    ),
    FrameSpec(
        "MEPUnknown", "MEP Unknown Body", "unknown",
        (_length(), Octets("data", Tail(DIGEST_LEN)), _DIGEST),
        "Unknown body, {length} bytes", least=LEN_LEN + 1 + DIGEST_LEN,
    ),
)
"""Every frame kind; the order is the order of the guesses for a lone response."""


ALL_REQUEST_CODES = frozenset(c for s in FRAMES for c in s.codes)
"""First body bytes that mark a client-to-meter frame; responses use 0x00..0x0C."""
REQUEST_KINDS = ("request", "tls_request")
RESPONSE_KINDS = ("response", "tls_response")


def response_rules() -> dict[str, dict[int | None, str]]:
    """Request kind -> {response code -> the response kind it gives}; the key
    None holds the kind for every other code."""
    rules: dict[str, dict[int | None, str]] = {}
    for s in (*FRAMES, *PLAIN_FRAMES):
        for req in s.answers:
            for code in (None,) if s.answer_codes is None else s.answer_codes:
                rules.setdefault(req, {}).setdefault(code, s.name)
    return rules


def guess_rules() -> dict[int, list[tuple[str, str | int | None]]]:
    """Response code -> [(kind, shape)] to try in order for a response seen
    without its request; the last entry of each list has no shape condition.
    Shapes: "records" (TLS records follow the code) before body lengths."""
    rc4 = [s for s in FRAMES if s.family == "response"]
    out: dict[int, list] = {}
    for code in RESPONSE_CODE_RANGE:
        shaped = [(s.name, s.guess) for s in FRAMES if s.guess is not None and code in (
            s.answer_codes if s.guess_codes is None else s.guess_codes)]
        shaped.sort(key=lambda e: e[1] != "records")
        plain = [s.name for s in rc4 if s.guess is None and s.answer_codes is not None
                 and code in s.answer_codes]
        plain += [s.name for s in rc4 if s.answer_codes is None]
        out[code] = [*shaped, (plain[0], None)]
    return out


# ------------------------------------------------------------------ pairing rules

BITS_PER_BYTE = 10
"""A byte on the 8N1 line: start bit, 8 data bits, stop bit (response deadline)."""
RESEND_AFTER = frozenset({SEQUENCE_ERROR})
"""Answers after which the same command sent again with a new sequence number is
a retransmission (an identical body always is)."""
COMMAND_END = SEQ_LEN + DIGEST_LEN
"""Bytes at the end of an RC4 request body that such a resend changes."""


# ------------------------------------------------------------------ texts

PROBLEMS = {
    "empty": "empty capture record",
    "too_long": "length %d exceeds the maximum body of %d bytes",
    "truncated": "truncated: %d of %d body bytes present",
    "short": "%d byte(s), %s needs at least %d",
    "missing": "missing: %s",
    "left_over": "%d byte(s) left over in the body",
    "count": "%s is %d but %d %s byte(s) follow",
    "cut": "%s cut short: %d of %d byte(s)",
    "trailing": "%d byte(s) after the last TLS record",
}
"""Why a frame is malformed (scapy ``problems``; one Wireshark expert info)."""

MALFORMED = "Malformed MEP frame: %s"
"""The expert text of a malformed frame: its problems joined by "; "."""

NOTES = {
    # key: (expert group in Lua's E table, text)
    "unframed": ("unpaired", "mep-capture could not frame these bytes: %s"),
    "alert": ("alert", "Alert sequence: the meter asks the client to read ET13"),
    "bad_request_digest": ("bad_digest",
                           "Digest verifies with no configured key, plain or decrypted"),
    "unopened_request": ("bad_digest",
                         "No configured key opens it: encrypted under another key, or garbage"),
    "retransmission": ("retransmission", "Retransmission of frame %d"),
    "spacing": ("timing", "Request %.0f ms after the previous one "
                "(the meter serves at most one request per %.0f ms)"),
    "no_response": ("no_response", "No response to this request"),
    "optical_busy": ("no_response", "An optical (C12.18) session held the meter's shared UART "
                     "meanwhile: the MEP port does not answer then"),
    "broken": ("unpaired", "Broken frame: not taken as the response to any request"),
    "unpaired": ("unpaired", "Response with no request waiting for it"),
    "late": ("timing", "Response %.0f ms after its request (the client gives up after %.0f ms)"),
    "bad_response_digest": ("bad_digest", "Response digest does not match its request"),
    "error_response": ("error_response", "Error response: %s"),
    "tls_error_response": ("error_response", "TLS error response: %s"),
    "overlong": ("error_response", "Response has %d bytes, %d were asked for"),
    "tls_unopened": ("tls_unopened", "No key opens this TLS session: its application data "
                     "stays encrypted"),
    "unreal_time": ("timing", "Timestamp %.0f s after 1970 is past the year 9999: no clock "
                    "reads that, the capture's time is wrong"),
}
"""Expert notes of the capture context, the same in scapy and Wireshark."""

SCAPY_ONLY_NOTES = ("unreal_time",)
"""Notes the Lua does not give: Wireshark judges and shows a record's time itself
(and wraps a 2^64 - 1 unit timestamp into another value), so only scapy, which
would otherwise fail to show such a time, says it is wrong."""

INFO = {
    "request_in": " [request in %d, %.0f ms]",
    "encrypted": " [encrypted]",
    "retransmission": " [retransmission of %d]",
    "no_response": " [no response]",
    "bad_digest": " [bad digest]",
    "malformed": " [malformed]",
    "unopened": " (encrypted without a key to open it, or garbage)",
    "unopened_keyed": " (no configured key opens it: encrypted under another key, or garbage)",
    "psk": " (PSK client %d, %s)",
    "records_empty": "%d byte(s)",
    "opened": ": %s",
}
"""Pieces of the Info column added by the context (after the frame's template)."""


def code_name(spec_field: Num, value: int | None) -> str:
    """A code's name, its fallback text for unnamed ones, "?" when missing."""
    if value is None:
        return "?"
    name = (spec_field.values or {}).get(value)
    if name is not None:
        return name
    return spec_field.unknown % value if "%" in spec_field.unknown else spec_field.unknown


def template_parts(template: str) -> list[tuple[str, str | None, str | None]]:
    """An Info template as (literal text, field name or None, conversion or None)."""
    out = []
    rest = template
    while rest:
        i = rest.find("{")
        if i < 0:
            out.append((rest, None, None))
            break
        j = rest.index("}", i)
        name, _, conv = rest[i + 1 : j].partition(":")
        out.append((rest[:i], name, conv or None))
        rest = rest[j + 1 :]
    return out


# ------------------------------------------------------------------ inside TLS

PLAIN_TRAILERS = {"request": ("sequence", "digest"), "response": ("digest",)}
"""What TLS replaces at the end of an RC4 frame (after the body's code and data)."""


def _without(template: str, dropped: set[str]) -> str:
    """An Info template less the fields in ``dropped`` (and the text just before each)."""
    out = []
    for literal, name, conv in template_parts(template):
        if name in dropped:
            continue
        out.append(literal + ("" if name is None else "{" + name + (":" + conv if conv else "")
                              + "}"))
    return "".join(out)


def plain_kind(spec: FrameSpec) -> FrameSpec:
    """The RC4 frame kind ``spec`` as a TLS session carries it: no length field,
    no sequence number or digest; everything else, Info included, the same.

    TLS application data (request code 0x80 and its answer) holds one C12.18
    request (code and code data) or response (code and data); one declaration
    thus serves both links.
    """
    fields = [f for f in spec.fields if f.name != "length"]
    dropped = {"length"}
    trailer = PLAIN_TRAILERS[spec.family]
    while fields and fields[-1].name in trailer:
        dropped.add(fields.pop().name)
    fields = [Octets(f.name, Tail(0), f.default)
              if isinstance(f, Octets) and isinstance(f.n, Tail) else f for f in fields]
    return FrameSpec(
        "MEPTLS" + spec.name[3:], "TLS " + spec.title[4:], "plain_" + spec.family,
        tuple(fields), _without(spec.info, dropped),
        answers=tuple("MEPTLS" + a[3:] for a in spec.answers), answer_codes=spec.answer_codes,
        error_note=spec.error_note, at_most=spec.at_most,
    )


_PLAIN = [plain_kind(s) for s in FRAMES if s.family in PLAIN_TRAILERS]
PLAIN_FRAMES: tuple[FrameSpec, ...] = (
    *(s for s in _PLAIN if s.field("sequence") is None),
    FrameSpec("MEPTLSPlaintext", "TLS Plaintext", "plain_unknown",
              (Octets("data", Tail(0)),), "Plaintext that is no table request"),
)
"""The table requests and their responses inside TLS, made from the RC4 kinds
(but the 0x0C answer: TLS has no sequence number to resynchronise, so 0x0C is
an error like any other there); the last kind takes a plaintext whose first
byte is no table request code."""
PLAIN_BY_CODE = {c: plain_kind(s).name for s in FRAMES if s.family == "request" for c in s.codes}
"""A TLS request plaintext's kind by its first byte (request code)."""
PLAIN_OTHER = PLAIN_FRAMES[-1].name

SPECS: dict[str, FrameSpec] = {s.name: s for s in (*FRAMES, TLS_RECORD, *PLAIN_FRAMES)}
