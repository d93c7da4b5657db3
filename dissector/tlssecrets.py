"""TLS secrets for Wireshark: a key log, and pcapng Decryption Secrets Blocks.

Wireshark's ``tls.psk`` preference holds one key, which opens a capture made
under one key only; a MEP capture may hold sessions under the MBK and the
MAK.  A TLS 1.2 session is opened by its master secret alone, so the
sessions' secrets, computed here from the handshakes and the key each PSK
identity names (:mod:`.tlspsk`), go into an NSS key log file or into a
Decryption Secrets Block (pcapng block type 10, secrets type ``TLSK``) in a
copy of the capture: Wireshark then opens the capture decrypted with no
preference set, as after ``editcap --inject-secrets tls,KEYLOG``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable

from .security import Key
from .tlspsk import SessionTracker

DSB_TYPE = 0x0000000A
"""pcapng Decryption Secrets Block."""
TLS_KEY_LOG = 0x544C534B
"""Secrets type 'TLSK': the block holds NSS key log lines."""
SHB_TYPE = 0x0A0D0D0A
BYTE_ORDER_MAGIC = 0x1A2B3C4D


def dsb_block(keylog: str, little_endian: bool = True) -> bytes:
    """One Decryption Secrets Block holding ``keylog`` (lines of NSS key log text)."""
    data = keylog.encode("ascii")
    order = "<" if little_endian else ">"
    body = struct.pack(order + "II", TLS_KEY_LOG, len(data)) + data + b"\0" * (-len(data) % 4)
    total = 12 + len(body)
    return struct.pack(order + "II", DSB_TYPE, total) + body + struct.pack(order + "I", total)


def tls_frames(frames: Iterable) -> Iterable[tuple[int, int, bytes]]:
    """(direction, code, bytes after the code) of each TLS frame of a decoded capture.

    ``frames`` are :class:`~.context.FrameInfo` objects in capture order: a
    request is TLS by its code, a response by the request it answers.
    """
    from .frames import TLS_REQUEST_CODES

    for fi in frames:
        body = getattr(fi, "raw", None) or b""  # (a C12.18 record has none)
        if not body or fi.direction is None:
            continue
        if fi.retransmission_of is not None:
            continue  # records the session has seen already
        req = fi.request
        is_tls = body[0] in TLS_REQUEST_CODES if fi.direction == 0 else (
            req is not None and bool(req.raw) and req.raw[0] in TLS_REQUEST_CODES
        )
        if is_tls:
            yield fi.direction, body[0], body[1:]


def track_sessions(frames: Iterable, keys: Iterable[Key]) -> SessionTracker:
    """Follow every TLS session of a decoded capture with the given keys."""
    tracker = SessionTracker(keys)
    for direction, code, payload in tls_frames(frames):
        tracker.frame(direction, code, payload)
    return tracker


def inject_secrets(src: str | os.PathLike, dst: str | os.PathLike, keylog: str) -> None:
    """Copy pcapng ``src`` to ``dst`` with a Decryption Secrets Block after its header.

    Raises ValueError when ``src`` is not pcapng (a pcap file has no place
    for secrets).
    """
    data = open(src, "rb").read()  # noqa: SIM115 - small files, read once
    if len(data) < 12 or struct.unpack_from("<I", data)[0] != SHB_TYPE:
        raise ValueError(f"{os.fspath(src)}: not a pcapng file (secrets need pcapng)")
    little = struct.unpack_from("<I", data, 8)[0] == BYTE_ORDER_MAGIC
    total = struct.unpack_from("<I" if little else ">I", data, 4)[0]
    if total < 28 or total > len(data):
        raise ValueError(f"{os.fspath(src)}: section header block is damaged")
    with open(dst, "wb") as out:
        out.write(data[:total] + dsb_block(keylog, little) + data[total:])


def session_report(tracker: SessionTracker) -> list[str]:
    """One line per session: its client, key, and whether a key opened it."""
    lines = []
    for n, s in enumerate(tracker.sessions, 1):
        who = f"client {s.identity[0]}, {s.key_name or f'key id {s.identity[1]}'}" if (
            s.identity) else "no PSK identity seen"
        state = "secret computed" if s.master is not None else (s.problem or "not opened")
        ems = ", extended master secret" if s.ems else ""
        lines.append(f"session {n}: {who}{ems}: {state}")
    return lines


class LiveSecrets:
    """Secrets of the TLS sessions a recording is making, as soon as they are known.

    A recorder hands every frame to :meth:`frame` *before* writing it; the
    returned key log lines go into a Decryption Secrets Block written ahead
    of that frame.  A session's secret is known once its ClientKeyExchange
    is seen, and that frame already carries the first encrypted record (the
    Finished), which Wireshark can open only if the secret came before it.
    """

    def __init__(self, keys: Iterable[Key]) -> None:
        from .frames import TLS_REQUEST_CODES

        self._codes = TLS_REQUEST_CODES
        self.tracker = SessionTracker(keys)
        self._seen: set[str] = set()
        self._tls_pending = False
        self._last_request = b""

    def frame(self, direction: int, frame: bytes) -> str | None:
        """Feed one frame (length field included); new key log text, or None.
        A request identical to the one before (a resend) is not fed again."""
        body = frame[2:]
        if not body:
            return None
        if direction == 0:
            resent, self._last_request = body == self._last_request, body
            self._tls_pending = body[0] in self._codes
            if not self._tls_pending or resent:
                return None
        elif not self._tls_pending:
            return None
        self.tracker.frame(direction, body[0], body[1:])
        new = [line for line in self.tracker.keylog() if line not in self._seen]
        self._seen.update(new)
        return "".join(line + "\n" for line in new) or None
