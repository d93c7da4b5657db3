"""What a MEP TLS session carries: C12.18 requests and responses without RC4's trailers.

Inside TLS (request code 0x80 and its answer) a request is its code and
code data, a response its code and data: the RC4 forms of the same frames
less the sequence number and digest, which TLS replaces.  The layouts are
therefore the RC4 frames' own: the dissectors use the plaintext kinds made
from them (:func:`.framespec.plain_kind`), the simulator and the client the
helpers below, which add or drop the trailers.  :class:`TLSFollower` is the
capture context's TLS part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scapy.packet import Packet

from .catalog import spec_for
from .catalog.registry import DIMENSION_SOURCES
from .frames import (
    DIGEST_LEN,
    LEN_LEN,
    RC4_REQUESTS,
    SEQ_LEN,
    MEPPacket,
    MEPTLSRequest,
    frame_of,
    plain_request,
    plain_response,
    response_class,
)
from .framespec import INFO, TLS_APPLICATION_DATA
from .security import Key
from .tables import table_label
from .tlspsk import Record, SessionTracker

REQUEST_TRAILER = SEQ_LEN + DIGEST_LEN
RESPONSE_TRAILER = DIGEST_LEN


def request_plaintext(body: Packet) -> bytes:
    """A built request (e.g. ``builders.partial_read(...)``) as TLS carries it."""
    return bytes(body)[LEN_LEN:-REQUEST_TRAILER]


def response_plaintext(body: Packet) -> bytes:
    """A built response (``builders.read_ok(...)`` ...) as TLS carries it."""
    return bytes(body)[LEN_LEN:-RESPONSE_TRAILER]


def parse_request(plain: bytes) -> Packet | None:
    """The request a TLS plaintext holds; None when its code is no table request."""
    if not plain or plain[0] not in RC4_REQUESTS:
        return None
    return frame_of(RC4_REQUESTS[plain[0]], plain + bytes(REQUEST_TRAILER))


def parse_response(request: Packet, plain: bytes) -> Packet | None:
    """The response a TLS plaintext holds, read in the light of its request."""
    if not plain:
        return None
    padded = plain + bytes(RESPONSE_TRAILER)
    return frame_of(response_class(request, padded), padded)


# ------------------------------------------------------------------ in a capture


@dataclass(eq=False, slots=True)
class Opened:
    """What a capture's TLS session gave one frame (``FrameInfo.tls``)."""

    records: list[Record]
    """The records this frame completed (with the bytes its direction held before)."""
    packet: MEPPacket | None = None
    """Its application data, opened and dissected as a plaintext kind."""
    problem: str | None = None
    """Why its application data stays closed (no key, a wrong one, no handshake)."""

    @property
    def problems(self) -> list[str]:
        return self.packet.problems if self.packet is not None else []

    def info(self, frame: MEPPacket) -> str:
        """The frame's Info: its opened template, then the plaintext's own."""
        if self.packet is None:
            return frame.info(table_label)
        inner = self.packet.info(table_label)
        return frame.info(table_label, opened=True) + INFO["opened"] % inner


def _is_tls_request(info) -> bool:
    """Whether a FrameInfo is, in context, a TLS request (by its class: no
    scapy packet is made for this)."""
    view = info.packet_view
    return view is not None and issubclass(view.cls, MEPTLSRequest)


class TLSFollower:
    """The TLS part of a capture context: one :class:`~.tlspsk.SessionTracker`.

    :class:`~.context.CaptureContext` hands it every frame once the frame is
    paired; a TLS request, or the answer to one, feeds its bytes after the
    code to the tracker, and the application data that opens is dissected by
    the plaintext kinds (:data:`.framespec.PLAIN_FRAMES`): a request by its
    code, a response in the light of its request's plaintext.  The table it
    names then sizes, pairs and decodes as an RC4 frame's would.  Application
    data that does not open gets the note "no key opens this TLS session",
    never made-up contents.
    """

    def __init__(self, keys: Iterable[Key]) -> None:
        self.tracker = SessionTracker(keys)

    def frame(self, ctx, info) -> None:
        """Follow ``info`` (a FrameInfo of ``ctx``) if it is a TLS frame."""
        if info.retransmission_of is not None and _is_tls_request(info):
            self._resent(info)
            return
        if not self.carries_tls(info):
            return
        from .context import note  # (context imports this module)

        records = self.tracker.frame(info.direction, info.raw[0], info.raw[1:])
        opened = info.tls = Opened(records)
        data = [r for r in records if r.content_type == TLS_APPLICATION_DATA]
        if not data:
            return
        plain = [r.plaintext for r in data if r.plaintext is not None]
        if not plain:
            opened.problem = data[0].problem
            info.expert.append(note("tls_unopened"))
            return
        text = b"".join(plain)
        if info.kind == "request":
            pkt = opened.packet = plain_request(text)
            self._request(ctx, info, pkt)
        else:
            req = info.request.tls
            pkt = opened.packet = plain_response(req.packet if req else None, text)
            self._response(ctx, info, pkt)

    @staticmethod
    def carries_tls(info) -> bool:
        """A TLS request as understood in context, or the answer paired to one."""
        if info.kind == "request":
            return _is_tls_request(info)
        req = info.request
        return info.kind == "response" and req is not None and _is_tls_request(req)

    @staticmethod
    def _resent(info) -> None:
        """A resent TLS request means what the first transmission meant (its
        records are not fed again: the session has seen them)."""
        first = info.original
        if first is None or first.tls is None:
            return
        info.tls = Opened([], first.tls.packet, first.tls.problem)
        info.table_id, info.offset, info.count = first.table_id, first.offset, first.count
        info._table = first._table

    @staticmethod
    def _request(ctx, info, pkt: MEPPacket) -> None:
        if pkt.spec.family != "plain_request":
            return
        f = pkt.fields
        info.table_id, info.offset, info.count = f.get("table_id"), f.get("offset"), f.get("count")
        if f.get("data") and info.table_id is not None:
            info._table = ctx._table_decoder(info.table_id, f["data"], info.offset or 0)

    @staticmethod
    def _response(ctx, info, pkt: MEPPacket) -> None:
        from .context import note

        req_tls = info.request.tls
        if req_tls is None or req_tls.packet is None:
            return
        spec, f = pkt.spec, pkt.fields
        code = f.get(spec.code_field.name)
        if spec.error_note and code not in (None, 0):
            names = spec.code_field.values or {}
            info.expert.append(note(spec.error_note, names.get(code) or f"0x{code:02X}"))
        elif spec.at_most and code == 0:
            mine = f.get(spec.at_most[0])
            theirs = req_tls.packet.fields.get(spec.at_most[1])
            if mine is not None and theirs is not None and mine > theirs:
                info.expert.append(note("overlong", mine, theirs))
        req = info.request
        data = f.get("data")
        if spec.family == "plain_response" and data and code == 0 and req.table_id is not None:
            info._table = ctx._table_decoder(req.table_id, data, req.offset or 0,
                                             req.offset is None)
            table = spec_for(req.table_id)
            if table is not None and table.tag in DIMENSION_SOURCES:
                ctx._learn_dimensions(info, (req.table_id, req.offset, data))
