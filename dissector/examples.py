"""The example messages of the MEP guide, as test vectors.

Chapter 2 gives two TLS examples and two RC4 examples; Appendices A and B
share one more; chapter 4 adds an ET52/ET53 transaction and an EP17 call.
Each message is kept as the bytes on the wire, its direction, and the values
the guide reads out of it.  The RC4 and chapter 4 examples use the guide's
default key of sixteen 0x01 bytes; the Appendix A/B example does not say
which key made its digests, so they cannot be verified.  TLS example 1 ends
by repeating its last two messages verbatim (one marked S->S); the repeat
adds nothing and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .context import FROM_METER, TO_METER

GUIDE_KEY_HEX = "01" * 16
"""The default MAK the RC4 examples use."""


@dataclass(frozen=True)
class Example:
    title: str
    direction: int
    wire: bytes
    expect: dict = field(default_factory=dict)
    """Field values the guide states for this message (scapy field names)."""
    key_known: bool = True


def _h(text: str) -> bytes:
    return bytes.fromhex(text.replace("-", "").replace(" ", "").replace(":", ""))


_RC4_1_DATA = _h(
    "00 00 00 00 00 00 00 00 00 00 00"
    "00 00 00 00 00 08 00 00 00 03 00"
    "00 00 00 00 00 00 00 00 00 00 00"
    "00 00 00 00 00 00 00 06 00 00 00"
)

EXAMPLES: list[Example] = [
    # --- TLS example 1: handshake ---
    Example(
        "TLS example 1: client handshake",
        TO_METER,
        _h(
            "00-35 58 16-03-03-00-2F-01-00-00-2B-03-03-5C-A6-57-21-AA-86-A8-DB-2D-59-91-57-AA-0C"
            "-33-81-19-42-A7-EE-92-89-F1-66-33-62-19-76-85-0D-DF-F4-00-00-04-00-A9-00-FF-01-00"
        ),
        {"length": 0x35, "code": 0x58},
    ),
    Example(
        "TLS example 1: server hello",
        FROM_METER,
        _h(
            "00-60 00 16-03-03-00-51-02-00-00-4D-03-03-24-39-1A-AC-57-59-A0-D3-FC-9B-F4-E9-4C-93"
            "-62-B1-5C-78-C3-F7-1A-C0-D8-83-FB-70-D7-1E-A4-00-5E-60-20-4E-C1-BC-0A-54-D0-D5-4F-2F"
            "-E9-02-1B-2F-A8-64-E5-78-2C-0D-01-FE-A2-41-5B-EC-6E-38-8A-E7-87-6A-46-00-A9-00-00-05"
            "-FF-01-00-01-00-16-03-03-00-04-0E-00-00-00"
        ),
        {"length": 0x60, "code": 0x00},
    ),
    Example(
        "TLS example 1: client key exchange, change cipher spec, finished",
        TO_METER,
        _h(
            "00-42 59 16-03-03-00-09-10-00-00-05-00-03-64-00-01-14-03-03-00-01-01-16-03-03-00-28"
            "-00-00-00-00-00-00-00-00-57-FA-68-8F-17-1A-B5-EF-34-8E-C6-70-79-B5-87-21-1A-89-62-26"
            "-7E-68-3E-57-D1-8E-EB-85-63-07-7A-36"
        ),
        {"length": 0x42, "code": 0x59},
    ),
    Example(
        "TLS example 1: server change cipher spec, finished",
        FROM_METER,
        _h(
            "00-34 00 14-03-03-00-01-01-16-03-03-00-28-00-00-00-00-00-00-00-00-76-78-48-C8-F9-7D"
            "-E6-72-47-D0-38-72-E4-3D-EF-40-EB-B0-5A-3B-50-FE-84-5D-35-53-AA-16-C1-0C-7F-C1"
        ),
        {"length": 0x34, "code": 0x00},
    ),
    # --- TLS example 2: a table read inside TLS ---
    Example(
        "TLS example 2: encrypted partial read of ET70 (0x0846)",
        TO_METER,
        _h(
            "00-26 80 17-03-03-00-20-00-00-00-00-00-00-00-01-E7-F9-86-7E-27-32-1D-43-E7-0B-F8"
            "-F9-BA-30-24-43-F0-F0-72-71-B4-DE-5A-C1"
        ),
        {"length": 0x26, "code": 0x80},
    ),
    Example(
        "TLS example 2: encrypted response",
        FROM_METER,
        _h(
            "00-22 00 17-03-03-00-1C-00-00-00-00-00-00-00-01-68-0F-A0-53-79-BE-B3-6E-CB-96-CC-66"
            "-E2-D1-CE-A9-65-C7-28-EA"
        ),
        {"length": 0x22, "code": 0x00},
    ),
    # --- RC4 example 1: read BT23 with a stale sequence number ---
    Example(
        "RC4 example 1: first read request",
        TO_METER,
        _h("00 14 3f 00 17 00 00 00 00 2C 01 02 03 04 74 86 1F 6D 76 58 DD 56"),
        {
            "length": 0x14, "request_code": 0x3F, "table_id": 0x17, "offset": 0, "count": 44,
            "sequence": 0x01020304, "digest": _h("74 86 1F 6D 76 58 DD 56"),
        },
    ),
    Example(
        "RC4 example 1: invalid sequence number",
        FROM_METER,
        _h("00 0D 0C 77 63 5B 90 35 86 3C 1D F5 B9 14 82"),
        {
            "length": 0x0D, "response_code": 0x0C, "sequence": 0x77635B90,
            "digest": _h("35 86 3C 1D F5 B9 14 82"),
        },
    ),
    Example(
        "RC4 example 1: second read request",
        TO_METER,
        _h("00 14 3F 00 17 00 00 00 00 2C 77 63 5B 91 13 DB 85 A1 35 A0 57 5E"),
        {
            "length": 0x14, "request_code": 0x3F, "table_id": 0x17, "offset": 0, "count": 44,
            "sequence": 0x77635B91, "digest": _h("13 DB 85 A1 35 A0 57 5E"),
        },
    ),
    Example(
        "RC4 example 1: read response",
        FROM_METER,
        _h("00 37 00 00 2C") + _RC4_1_DATA + _h("AD DC B8 2C 3D 41 7F 91"),
        {
            "length": 0x37, "response_code": 0x00, "count": 44, "data": _RC4_1_DATA,
            "digest": _h("AD DC B8 2C 3D 41 7F 91"),
        },
    ),
    # --- RC4 example 2: register the client in ET50 ---
    Example(
        "RC4 example 2: partial write of ET50 'MEP Device Registered'",
        TO_METER,
        _h("00 15 4F 08 32 00 00 1E 00 01 01 77 63 6e 2f 86 e5 0e 26 67 d1 e6 3c"),
        {
            "length": 0x15, "request_code": 0x4F, "table_id": 0x0832, "offset": 0x1E,
            "count": 1, "data": b"\x01", "sequence": 0x77636E2F,
            "digest": _h("86 E5 0E 26 67 D1 E6 3C"),
        },
    ),
    Example(
        "RC4 example 2: write response",
        FROM_METER,
        _h("00 09 00 86 e5 0e 26 67 d1 e6 3c"),
        {"length": 0x09, "response_code": 0x00, "digest": _h("86 E5 0E 26 67 D1 E6 3C")},
    ),
    # --- Appendix A/B: read of BT52 (key not stated in the guide) ---
    Example(
        "Appendix A/B: partial read of BT52",
        TO_METER,
        _h("00:14 3F 00:34 00:00:00 00:06 F5:2F:54:81 7C:FF:9A:53:47:DB:AB:FC"),
        {
            "length": 0x14, "request_code": 0x3F, "table_id": 0x34, "offset": 0, "count": 6,
            "sequence": 0xF52F5481, "digest": _h("7C:FF:9A:53:47:DB:AB:FC"),
        },
        key_known=False,
    ),
    Example(
        "Appendix A/B: read response (clock 2004-02-16 15:59:55)",
        FROM_METER,
        _h("00:11 00 00:06 04:02:10:0F:3B:37 30:3D:9B:BE:3D:A3:A8:B6"),
        {
            "length": 0x11, "response_code": 0x00, "count": 6, "data": _h("04:02:10:0F:3B:37"),
            "digest": _h("30:3D:9B:BE:3D:A3:A8:B6"),
        },
        key_known=False,
    ),
    # --- Chapter 4: a transaction of six reads through ET52/ET53 ---
    Example(
        "Transaction example: write ET52 (six partial reads)",
        TO_METER,
        _h("00 57 4F 08 34 00 00 00 00 43") + _h(
            "43 00 00 01 00 08 00 3F 08 0B 00 00 00 00 0A 08 00 3F 00 14 00 00 00 00 0A 08 00"
            "3F 00 15 00 00 00 00 0A 08 00 3F 08 04 00 00 37 00 01 08 00 3F 08 0E 00 00 00 00"
            "0C 08 00 3F 08 0F 00 00 00 00 1F 01 00") + _h("5B 4E 42 E6 ED 6A 9C EF F4 CC 0E 39"),
        {"length": 0x57, "request_code": 0x4F, "table_id": 0x0834, "offset": 0, "count": 0x43,
         "sequence": 0x5B4E42E6, "digest": _h("ED 6A 9C EF F4 CC 0E 39")},
    ),
    Example(
        "Transaction example: write response",
        FROM_METER,
        _h("00 09 00 ED 6A 9C EF F4 CC 0E 39"),
        {"length": 0x09, "response_code": 0x00, "digest": _h("ED 6A 9C EF F4 CC 0E 39")},
    ),
    Example(
        "Transaction example: read the ET53 header",
        TO_METER,
        _h("00 14 3F 08 35 00 00 00 00 05 5B 4E 42 E7 48 97 75 DA D8 53 E3 A3"),
        {"length": 0x14, "request_code": 0x3F, "table_id": 0x0835, "offset": 0, "count": 5,
         "sequence": 0x5B4E42E7, "digest": _h("48 97 75 DA D8 53 E3 A3")},
    ),
    Example(
        "Transaction example: ET53 header (111 bytes, responses, number 1)",
        FROM_METER,
        _h("00 10 00 00 05 6F 00 01 01 00 97 4B 99 CA A3 31 45 19"),
        {"length": 0x10, "response_code": 0x00, "count": 5, "data": _h("6F 00 01 01 00"),
         "digest": _h("97 4B 99 CA A3 31 45 19")},
    ),
    Example(
        "Transaction example: read all of the transaction from ET53",
        TO_METER,
        _h("00 14 3F 08 35 00 00 00 00 6F 5B 4E 42 E8 1B 32 04 49 74 45 A8 7A"),
        {"length": 0x14, "request_code": 0x3F, "table_id": 0x0835, "offset": 0, "count": 0x6F,
         "sequence": 0x5B4E42E8, "digest": _h("1B 32 04 49 74 45 A8 7A")},
    ),
    Example(
        "Transaction example: the six responses",
        FROM_METER,
        _h("00 7A 00 00 6F") + _h(
            "6F 00 01 01 00 0D 00 00 00 0A 05 42 24 05 06 05 02 01 03 F9 0D 00 00 00 0A 3F 0E"
            "FD 0F 08 10 01 04 08 1A 0D 00 00 00 0A 3F 0E 0C 0F 08 00 01 04 08 1A 04 00 00 00"
            "01 04 0F 00 00 00 0C 00 00 00 00 00 11 01 00 01 04 2F 00 22 00 00 00 1F 00 42 00"
            "01 00 02 01 45 00 01 00 02 01 48 00 01 00 02 01 03 00 F8 03 02 01 4B 00 01 00 02"
            "01 01 00") + _h("BF D4 EB F2 B7 E0 1F 43"),
        {"length": 0x7A, "response_code": 0x00, "count": 0x6F,
         "digest": _h("BF D4 EB F2 B7 E0 1F 43")},
    ),
    # --- Chapter 4: calling EP17 (remove the MEP client with handle 0x03F8) ---
    Example(
        "Procedure example: EP17 written to BT07",
        TO_METER,
        _h("00 17 40 00 07 00 06 11 08 07 00 F8 03 5B 4E 43 09 69 7A B2 01 49 7E 9C F7"),
        {"length": 0x17, "request_code": 0x40, "table_id": 0x0007, "count": 6,
         "data": _h("11 08 07 00 F8 03"), "sequence": 0x5B4E4309,
         "digest": _h("69 7A B2 01 49 7E 9C F7")},
    ),
    Example(
        "Procedure example: write response",
        FROM_METER,
        _h("00 09 00 69 7A B2 01 49 7E 9C F7"),
        {"length": 0x09, "response_code": 0x00, "digest": _h("69 7A B2 01 49 7E 9C F7")},
    ),
]
