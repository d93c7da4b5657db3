"""MEP protocol definitions: scapy layers, security, framing and pairing.

This package is the single source of truth for protocol facts (DESIGN.md);
the Lua dissector, the capture tool, the simulator and the client consume it.
"""
