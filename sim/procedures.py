"""Procedures the simulated meter runs when a client writes BT07.

The result goes to ET59 when ET50's "ET59 Response" flag is set, else to
BT08: the 16-bit procedure word (number bits only), the procedure sequence
number, the result code, then the response data.

EP39 "Post MEP Data": our copy of the guide names its posting types
("Scheduled Read Data", "... + Alarms", "Clear M-Bus Alert", "Clear Delta
Data Alert") without the parameter table and numbers only the last (12), so
the first parameter byte carries :data:`EP39_TYPES` as numbered here (the
guide's 12, our 0..2 for the rest), followed by the posted data.
This assumption lives only here (client and simulator share it).
"""

from __future__ import annotations

from dataclasses import dataclass

from mepshark.dissector.catalog.procedures import EP39_TYPES as GUIDE_EP39_TYPES
from mepshark.dissector.catalog.procedures import MFG_BASE, NUMBER_MASK
from mepshark.dissector.tables import table_id

from .access import may_call
from .meter import MEP_SLOT, Meter

EP16, EP17, EP19, EP39, EP61 = (MFG_BASE + n for n in (16, 17, 19, 39, 61))

# The guide numbers only Clear Delta Data Alert (12); the others are ours.
SCHEDULED_READ, SCHEDULED_READ_ALARMS, CLEAR_MBUS_ALERT = range(3)
(CLEAR_DELTA_ALERT,) = (k for k, v in GUIDE_EP39_TYPES.items() if v == "Clear Delta Data Alert")
EP39_TYPES = {
    SCHEDULED_READ: "Scheduled Read Data",
    SCHEDULED_READ_ALARMS: "Scheduled Read Data + Alarms",
    CLEAR_MBUS_ALERT: "Clear M-Bus Alert",
    CLEAR_DELTA_ALERT: "Clear Delta Data Alert",
}

COMPLETED, NOT_COMPLETED, INVALID_PARAMETER, CONFLICT, TIMING, NO_AUTH, UNRECOGNIZED = range(7)


@dataclass
class Outcome:
    number: int
    sequence: int
    result: int
    data: bytes = b""


def ep39_params(post_type: int, data: bytes = b"") -> bytes:
    """EP39 parameters: the posting type, then the posted data."""
    return bytes([post_type]) + data


def bt07_image(number: int, sequence: int, params: bytes = b"") -> bytes:
    """The bytes a client writes to BT07 to start procedure ``number``."""
    word = number & NUMBER_MASK
    return word.to_bytes(2, "little") + bytes([sequence & 0xFF]) + params


def run(meter: Meter, image: bytes, key_name: str) -> Outcome:
    """Run the procedure a BT07 image asks for and post its outcome."""
    number = int.from_bytes(image[:2], "little") & NUMBER_MASK
    seq = image[2] if len(image) > 2 else 0
    params = image[3:]
    if not may_call(key_name, number):
        out = Outcome(number, seq, NO_AUTH)
    else:
        out = _execute(meter, number, seq, params)
    _post(meter, out)
    return out


def _execute(meter: Meter, number: int, seq: int, params: bytes) -> Outcome:
    if number == EP39:
        if not params or params[0] not in EP39_TYPES:
            return Outcome(number, seq, INVALID_PARAMETER)
        kind = params[0]
        if kind in (SCHEDULED_READ, SCHEDULED_READ_ALARMS):
            meter.set_alert("scheduled_read_request_alert", False)
            s = f"device_status[{MEP_SLOT}]"
            st = meter.values("ET14")
            meter.update("ET14", {
                f"{s}.billing_read_length": len(params) - 1,
                f"{s}.read_answers": int(st.get(f"{s}.read_answers", 0)) + 1,
                f"{s}.billing_data_collected": True,
                f"{s}.status_read_timestamp": meter.now().replace(microsecond=0),
            })
        elif kind == CLEAR_MBUS_ALERT:
            meter.set_alert("mbus_change", False)
        else:
            meter.set_alert("delta_data_alert", False)
        return Outcome(number, seq, COMPLETED)
    if number == EP16:
        if len(params) < 4:
            return Outcome(number, seq, INVALID_PARAMETER)
        meter.clock_offset += int.from_bytes(params[:4], "little", signed=True)
        return Outcome(number, seq, COMPLETED)
    if number in (EP17, EP61):
        return Outcome(number, seq, COMPLETED)
    if number == EP19:
        return Outcome(number, seq, CONFLICT)
    return Outcome(number, seq, UNRECOGNIZED)


def _post(meter: Meter, out: Outcome) -> None:
    tid = table_id("ET59" if meter.et59_response() else "BT08")
    size = meter.size(tid) or 16
    word = (out.number & NUMBER_MASK).to_bytes(2, "little")
    body = (word + bytes([out.sequence, out.result]) + out.data)[:size]
    meter.images[tid] = bytearray(body.ljust(size, b"\0"))
