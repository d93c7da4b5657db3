"""MEP protocol definitions: scapy layers, security, framing and pairing.

This package is the single source of truth for protocol facts
(docs/architecture.md); the Lua dissector, the capture tool, the simulator
and the client consume it and it imports none of them.

Importing it registers the MEP layer for LINKTYPE_USER0 (147) with scapy,
as scapy's contrib modules register their layers on import, so ``rdpcap``
returns MEP packets; :func:`~.link.register_dlt` adds another user DLT.
"""

from .capture_format import DLT_USER0
from .link import register_dlt

register_dlt(DLT_USER0)
