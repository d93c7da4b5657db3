"""A MEP client session: sequence numbers, sealing, table reads and writes, procedures, alerts.

* every request is sealed by :class:`~mepshark.dissector.builders.Requester`
  (digest, optional RC4), its response opened and its digest checked;
* 0x0C: adopt the sequence number the meter names and send the request
  again with it (the client need not know the number in advance);
* a response with a bad digest was damaged on the line: the request goes
  out again with a new sequence number;
* a full read the meter refuses (or whose every answer is damaged) is done
  again by partial reads, reassembled: some Gen 3/4 meters serve BT23 only so;
* alerts: read the ET13 alert flags, post EP39 as they ask, read the
  procedure's response (guide, "Communication Model").
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from mepshark.dissector.builders import (
    Requester,
    full_read,
    full_write,
    partial_read,
    partial_write,
)
from mepshark.dissector.catalog import (
    DimensionContext,
    plan,
    spec_for,
    table_size,
)
from mepshark.dissector.catalog.layout import TableDecode
from mepshark.dissector.catalog.manufacturer import ALERT_FLAGS, alert_flag_slots
from mepshark.dissector.catalog.procedure_calls import (
    CLEAR_DELTA_ALERT,
    CLEAR_MBUS_ALERT,
    POST_MEP_DATA,
    SCHEDULED_READ,
    bt07_image,
    ep39_params,
)
from mepshark.dissector.catalog.procedures import (
    RESPONSE_HEADER_SIZE,
    decode_response,
)
from mepshark.dissector.frames import (
    AUTH_FAILURE,
    MAX_READ,
    NOT_POSSIBLE,
    RESPONSE_CODES,
    SEQUENCE_ERROR,
    TABLE_ERROR,
    UNRECOGNIZED,
    UNSUPPORTED,
    frame_of,
    response_class,
)
from mepshark.dissector.sealing import open_response
from mepshark.dissector.security import Key
from mepshark.dissector.tables import table_id, table_tag
from mepshark.dissector.tlsplain import parse_response

from .link import Link
from .tables import TableReader
from .tlschannel import TLSChannel

CHUNK = MAX_READ
"""Bytes per partial read when a table does not fit one response: the most one carries."""
FALLBACK_CODES = frozenset({UNRECOGNIZED, UNSUPPORTED, NOT_POSSIBLE, TABLE_ERROR})
"""Answers to a full read after which the table is read by partial reads instead
(some Gen 3/4 meters refuse full reads of BT23 that they serve in parts)."""
PROCEDURE_RESPONSE = "ET59"
"""Where :meth:`MepClient.call` reads a procedure's outcome (ET50 "ET59 Response")."""


class MepError(Exception):
    def __init__(self, code: int, what: str = ""):
        self.code = code
        name = RESPONSE_CODES.get(code, f"response code 0x{code:02X}")
        super().__init__(f"{what}: meter answered 0x{code:02X} ({name})" if what else name)


class AuthError(MepError):
    """0x0B: the meter verified the request with neither of its keys."""


class GaveUp(Exception):
    """No usable answer after ``max_attempts`` requests: each response was damaged
    (bad digest) or asked for another sequence number (0x0C).  Not a meter's code."""

    def __init__(self, what: str, attempts: int):
        self.attempts = attempts
        super().__init__(f"{what}: gave up after {attempts} attempts, every answer damaged "
                         "(bad digest) or 0x0C (sequence number)")


@dataclass
class ProcedureResult:
    number: int
    sequence: int
    result: int
    data: bytes
    decoded: TableDecode | None = None


@dataclass
class MepClient(TableReader):
    link: Link
    key: Key
    encrypt: bool = False
    sequence: int | None = None
    max_attempts: int = 4
    dims: DimensionContext = field(default_factory=DimensionContext)
    known: set[str] = field(default_factory=set)
    """Tables read so far whose fields dimension others."""
    psn: int = 0
    """Procedure sequence number of the next BT07 write."""
    in_parts: dict[int, str] = field(default_factory=dict)
    """Tables whose full read failed, read by partial reads since: id -> why."""
    tls: bool = False
    """Requests go through a TLS-PSK session (the key's first 16 bytes) instead of RC4."""
    client_id: int = 1
    """The client id of the TLS PSK identity (recorded by the meter in its events)."""

    def __post_init__(self) -> None:
        seq = random.getrandbits(32) if self.sequence is None else self.sequence
        self.requester = Requester(self.key, seq, self.encrypt)
        self.stats = {"resyncs": 0, "bad_digests": 0}
        self.channel = (TLSChannel(self.link.transact, self.key, self.client_id)
                        if self.tls else None)

    # --- one request ----------------------------------------------------------

    def exchange(self, body):
        """Send a request body; return the plain response packet.

        Raises :class:`MepError` on an error code, :class:`GaveUp` when no
        intact answer came in ``max_attempts`` tries.
        """
        what = f"{type(body).__name__.replace('MEP', '')} {table_tag(body.table_id)}"
        if self.channel is not None:
            pkt = parse_response(body, self.channel.request(body))
            code = pkt.response_code if pkt is not None else None
            if code != 0:
                raise MepError(0x01 if code is None else code, what)
            return pkt
        for _ in range(self.max_attempts):
            frame, seal = self.requester.seal(body)
            raw = self.link.transact(frame)
            plain, ok, _ = open_response(raw[2:], seal)
            code = plain[0] if plain else None
            if code == AUTH_FAILURE:
                raise AuthError(AUTH_FAILURE, what)
            if not ok:
                self.stats["bad_digests"] += 1
                continue
            pkt = frame_of(response_class(body, plain), plain)
            if code == SEQUENCE_ERROR:
                self.stats["resyncs"] += 1
                self.requester.resync(pkt.sequence)
                continue
            if code != 0:
                raise MepError(code, what)
            return pkt
        raise GaveUp(what, self.max_attempts)

    # --- tables -----------------------------------------------------------------

    def read_raw(self, table: int | str, offset: int | None = None,
                 count: int | None = None) -> bytes:
        tid = table_id(table) if isinstance(table, str) else table
        if offset is not None or count is not None:
            return bytes(self.exchange(partial_read(tid, offset or 0, count or 0)).data)
        size = self.expected_size(tid)
        if (size is not None and size > MAX_READ) or tid in self.in_parts:
            return self.read_in_parts(tid, size)
        # A full read names the most bytes wanted: the layout's size when known.
        try:
            return bytes(self.exchange(full_read(tid, size if size else MAX_READ)).data)
        except GaveUp as exc:
            self.in_parts[tid] = str(exc)
        except MepError as exc:
            if exc.code not in FALLBACK_CODES:
                raise
            self.in_parts[tid] = str(exc)
        return self.read_in_parts(tid, size)

    def read_in_parts(self, table: int, size: int | None) -> bytes:
        """The whole table by partial reads of at most :data:`CHUNK` bytes, reassembled.

        Without a known size, reads go on until one comes back short, or the
        meter says the offset lies past the end.
        """
        out = bytearray()
        while size is None or len(out) < size:
            want = CHUNK if size is None else min(CHUNK, size - len(out))
            try:
                got = self.exchange(partial_read(table, len(out), want)).data
            except MepError as exc:
                if size is None and out and exc.code == TABLE_ERROR:
                    break  # read up to the end
                raise
            out += got
            if len(got) < want:
                break
        return bytes(out)

    def expected_size(self, table: int | str) -> int | None:
        """The table's size by its layout and the dimensions known; None if open-ended."""
        spec = spec_for(table)
        if spec is None:
            return None
        size = table_size(spec, self.dims)
        if plan(spec, self.dims, bytes(MAX_READ)).size != size:
            return None  # ends in "the rest": only the meter knows how long it is
        return size

    def write(self, table: int | str, data: bytes, offset: int | None = None) -> None:
        tid = table_id(table) if isinstance(table, str) else table
        body = full_write(tid, data) if offset is None else partial_write(tid, offset, data)
        self.exchange(body)

    # --- procedures -----------------------------------------------------------

    def call(self, number: int, params: bytes = b"") -> ProcedureResult:
        """Start a procedure (write BT07) and read its outcome."""
        psn = self.psn
        self.psn = (self.psn + 1) & 0xFF
        self.write("BT07", bt07_image(number, psn, params))
        self.ensure_dims(PROCEDURE_RESPONSE)
        data = self.read_raw(PROCEDURE_RESPONSE)
        dec = decode_response(data, 0, self.dims, PROCEDURE_RESPONSE)
        return ProcedureResult(number, dec.get("sequence"), dec.get("result_code"),
                               data[RESPONSE_HEADER_SIZE:], dec)

    # --- alerts --------------------------------------------------------------------

    def alert_flags(self) -> dict[str, bool]:
        """The MEP entry's ET13 alert flags (one partial read of their byte)."""
        self.ensure_dims("ET13")
        slots = alert_flag_slots(self.dims)  # all in one byte
        dec = self.read("ET13", slots[0].offset, slots[0].size)
        return {name: bool(dec.get(s.path)) for name, s in zip(ALERT_FLAGS, slots, strict=True)}

    def service_alerts(self, posted: bytes = b"") -> list[dict[str, Any]]:
        """Do what the flags ask; returns one record per action taken."""
        self.link.alerts = 0
        flags = self.alert_flags()
        done: list[dict[str, Any]] = []
        actions = (("scheduled_read_request_alert", SCHEDULED_READ),
                   ("mbus_change", CLEAR_MBUS_ALERT), ("delta_data_alert", CLEAR_DELTA_ALERT))
        for flag, kind in actions:
            if flags.get(flag):
                params = ep39_params(kind, posted if kind == SCHEDULED_READ else b"")
                res = self.call(POST_MEP_DATA, params)
                done.append({"flag": flag, "procedure": "EP39", "post_type": kind,
                             "result": res.result})
        if flags.get("on_demand_request_in_et15"):
            self.read("ET15")
            done.append({"flag": "on_demand_request_in_et15", "read": "ET15"})
        return done
