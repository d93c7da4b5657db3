"""Procedures the simulated meter runs when a client writes BT07.

The result goes to ET59 when ET50's "ET59 Response" flag is set, else to
BT08 (:func:`~mepshark.dissector.catalog.procedure_calls.response_image`).
What the simulator does for each procedure is its own choice; the numbers,
result codes, images and EP39's posting types come from the catalog
(:mod:`mepshark.dissector.catalog.procedure_calls`), which the client uses too.
"""

from __future__ import annotations

from dataclasses import dataclass

from mepshark.dissector.catalog.access import may_call
from mepshark.dissector.catalog.procedure_calls import (
    CLEAR_MBUS_ALERT,
    COMPLETED,
    CONFLICT,
    EP39_TYPES,
    INVALID_PARAMETER,
    NO_AUTH,
    SCHEDULED_READ,
    SCHEDULED_READ_ALARMS,
    UNRECOGNIZED,
    procedure_id,
    response_image,
)
from mepshark.dissector.catalog.procedures import NUMBER_MASK
from mepshark.dissector.tables import table_id

from .meter import MEP_SLOT, Meter

EP16, EP17, EP19, EP39, EP61 = (procedure_id(t) for t in ("EP16", "EP17", "EP19", "EP39", "EP61"))


@dataclass
class Outcome:
    number: int
    sequence: int
    result: int
    data: bytes = b""


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
    body = response_image(out.number, out.sequence, out.result, out.data)[:size]
    meter.images[tid] = bytearray(body.ljust(size, b"\0"))
