"""A TLS-PSK endpoint of a MEP port, through python-mbedtls (optional extra ``tls``).

The meter runs Mbed TLS; the simulator and the client use the same library
(2.28 line, python-mbedtls) rather than a TLS of their own.  An endpoint is
a memory-buffer TLS connection: bytes that arrived in MEP frames go in with
:meth:`Endpoint.feed`, and :meth:`Endpoint.outgoing` gives the records to
send in the next frame.  MEP framing (codes 0x58/0x59/0x80/0x57, response
codes) stays with the caller.

python-mbedtls takes a PSK identity as ``str`` and encodes it as UTF-8, so
identity bytes of 0x80 and above would change size on the wire: a client id
whose two bytes are not both below 0x80 cannot be used (:func:`identity`
refuses it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .framespec import PSK_KEY_IDS
from .security import KEY_LEN

SUITE_NAME = "TLS-PSK-WITH-AES-256-GCM-SHA384"
KEY_IDS = {name: kid for kid, name in PSK_KEY_IDS.items()}


class TLSUnavailable(RuntimeError):
    """python-mbedtls is not installed."""


def _mbedtls():
    try:
        import mbedtls.tls as tls
    except ImportError:
        raise TLSUnavailable(
            "TLS needs python-mbedtls: pip install 'mepshark[tls]'"
        ) from None
    return tls


def check(client_id: int) -> None:
    """Raise ValueError (one line, with the fix) unless a TLS session can be made here."""
    try:
        _mbedtls()
        identity(client_id, "MAK")
    except TLSUnavailable as exc:
        raise ValueError(str(exc)) from None


def identity(client_id: int, key_name: str) -> str:
    """The MEP PSK identity (client id LSB first, key id) as python-mbedtls takes it."""
    raw = bytes([client_id & 0xFF, (client_id >> 8) & 0xFF, KEY_IDS[key_name]])
    if not 0 <= client_id <= 0xFFFF or any(b >= 0x80 for b in raw):
        raise ValueError(
            f"client id {client_id}: with python-mbedtls both of its bytes must be below 0x80"
        )
    return raw.decode("ascii")


def _config(tls, **psk):
    return tls.TLSConfiguration(
        ciphers=[SUITE_NAME],
        lowest_supported_version=tls.TLSVersion.TLSv1_2,
        highest_supported_version=tls.TLSVersion.TLSv1_2,
        validate_certificates=False,
        **psk,
    )


class _KeyStore(Mapping):
    """PSKs by identity, as python-mbedtls looks them up: (client id, key id) parsed."""

    def __init__(self, by_key_id: dict[int, bytes]) -> None:
        self._keys = by_key_id

    def __getitem__(self, ident: str) -> bytes:
        raw = ident.encode("utf-8")
        if len(raw) != 3 or raw[2] not in self._keys:
            raise KeyError(ident)
        return self._keys[raw[2]]

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class Endpoint:
    """One side of a TLS session over MEP frames, driven by whoever moves the bytes."""

    def __init__(self, buffer, tls) -> None:
        self._buf = buffer
        self._tls = tls

    @classmethod
    def client(cls, key: bytes, client_id: int, key_name: str) -> Endpoint:
        tls = _mbedtls()
        conf = _config(tls, pre_shared_key=(identity(client_id, key_name), key[:KEY_LEN]))
        return cls(tls.ClientContext(conf).wrap_buffers(None), tls)

    @classmethod
    def server(cls, keys: dict[str, bytes]) -> Endpoint:
        """A meter's side: ``keys`` by name (MBK, MAK); the identity's key id picks one.

        An identity that is no MEP identity, or names a key not given, finds
        no PSK: the handshake then fails as the meter's does.
        """
        tls = _mbedtls()
        store = _KeyStore({KEY_IDS[name]: key[:KEY_LEN] for name, key in keys.items()})
        return cls(tls.ServerContext(_config(tls, pre_shared_key_store=store)).wrap_buffers(), tls)

    @property
    def established(self) -> bool:
        return self._buf._handshake_state is self._tls.HandshakeStep.HANDSHAKE_OVER

    def feed(self, data: bytes) -> None:
        """Bytes received from the peer (the TLS records of one frame)."""
        if data:
            self._buf.receive_from_network(data)

    def step(self) -> None:
        """Advance the handshake as far as the bytes fed so far allow.

        The library signals "output written" as WantWrite (go on) and "input
        needed" as WantRead (stop until the peer's next flight).  Raises the
        library's TLSError on a failed handshake (unknown identity, wrong key).
        """
        for _ in range(64):  # a handshake has fewer steps; never spin
            if self.established:
                return
            try:
                self._buf.do_handshake()
            except self._tls.WantWriteError:
                continue
            except self._tls.WantReadError:
                return

    def outgoing(self) -> bytes:
        """Records waiting to be sent."""
        data = self._buf.peek_outgoing(1 << 16)
        if data:
            self._buf.consume_outgoing(len(data))
        return data or b""

    def send(self, plaintext: bytes) -> bytes:
        """Encrypt one message; returns its record(s)."""
        self._buf.write(plaintext)
        return self.outgoing()

    def receive(self) -> bytes:
        """Decrypt what was fed; b"" when no whole record has arrived."""
        try:
            return self._buf.read(1 << 16)
        except (self._tls.WantReadError, self._tls.WantWriteError):
            return b""
