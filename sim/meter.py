"""The simulated meter: table images built with the catalog, alive with time.

A :class:`Meter` holds one byte image per table.  The default meter is a
three-phase NES meter whose dimension tables (BT00, BT21, ET11) agree with
the sizes of the tables they dimension (BT23, BT28, ET13, ET14, ...): every
image is encoded from the catalog with the same dimensions, so a decoder
that learned BT21 and ET11 from the capture lays the tables out exactly as
the simulator built them.

Energy registers (BT23) grow by the power drawn, present values (BT28)
vary with time and the clocks (BT52, BT55) run.  Images can be saved to and
loaded from a JSON file (``{"tables": {"BT23": "<hex>", ...}}``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mepshark.dissector.catalog import decode, encode, spec_for, table_size
from mepshark.dissector.catalog.layout import decode_value
from mepshark.dissector.catalog.manufacturer import (
    ALERT_FLAGS,
    MEP_SLOT,
    alert_flag_slots,
)
from mepshark.dissector.catalog.procedures import REQUEST_HEADER_SIZE, RESPONSE_HEADER_SIZE
from mepshark.dissector.tables import MANUFACTURER_BASE, table_id, table_tag

FILE_FORMAT = "mep-sim tables 1"

# Dimensions of the default meter (the fields the catalog's Dim entries name).
BT21_VALUES = {
    "date_time_field": True,
    "nbr_self_reads": 0,
    "nbr_summations": 15,
    "nbr_demands": 0,
    "nbr_coincident_values": 0,
    "nbr_occurrences": 1,
    "nbr_tiers": 4,
    "nbr_present_demands": 0,
    "nbr_present_values": 84,
}
ET11_VALUES = {
    "nbr_devices": 5,
    "config_entry_size": 66,
    "status_entry_size": 36,
    "on_demand_request_queue_size": 5,
    "on_demand_request_entry_size": 6,
    "data_entry_size": 517,
    "transaction_request_length": 512,
    "transaction_response_length": 512,
    "on_demand_write_entry_size": 25,
    "phase_measurement_data_size": 0,
    "config_entry_2_size": 0,
    "nbr_group_ids": 4,
    "nbr_harmonics": 0,
    "mbus_multicast_message_length": 65,
    "mep_data_sources": 4,
    "mep_data_alert_sources": 10,
    "mep_channel_count": 1,
}
PROCEDURE_PARAMETER_LENGTH = 60
RESPONSE_DATA_LENGTH = 12
MFG_STATUS_LENGTH = 9

ET59_RESPONSE = "mep_inbound_configuration[0].et59_response"
"""ET50's "ET59 Response" flag of the first client: procedure results go to ET59."""


def dimensions(images: Mapping[int, bytes] | None = None) -> dict[str, int]:
    """``{"BT21.nbr_summations": 15, ...}`` from the images, or the default meter's."""
    dims: dict[str, int] = {}
    for tag, defaults in (("BT21", BT21_VALUES), ("ET11", ET11_VALUES)):
        img = images.get(table_id(tag)) if images else None
        if img is None:
            dims.update({f"{tag}.{k}": int(v) for k, v in defaults.items()})
            continue
        for k, v in decode(spec_for(tag), img).values().items():
            if isinstance(v, (int, bool)):
                dims[f"{tag}.{k}"] = int(v)
    bt00 = images.get(0) if images else None
    if bt00 is not None:
        vals = decode(spec_for("BT00"), bt00).values()
        dims["BT00.response_data_length"] = int(
            vals.get("response_data_length", RESPONSE_DATA_LENGTH))
        dims["BT00.manufacturer_status_length"] = int(
            vals.get("manufacturer_status_length", MFG_STATUS_LENGTH))
    else:
        dims["BT00.response_data_length"] = RESPONSE_DATA_LENGTH
        dims["BT00.manufacturer_status_length"] = MFG_STATUS_LENGTH
    return dims


def _bitset(numbers: list[int], nbytes: int) -> int:
    v = 0
    for n in numbers:
        if n < 8 * nbytes:
            v |= 1 << n
    return v


SERVED = ("BT00", "BT01", "BT07", "BT08", "BT15", "BT20", "BT21", "BT22", "BT23", "BT27",
          "BT28", "BT52", "BT55", "ET03", "ET11", "ET13", "ET14", "ET15", "ET50", "ET51",
          "ET59")
"""Tables of the default meter."""


def default_values(now: dt.datetime) -> dict[str, dict[str, Any]]:
    """Field values of the default meter's tables (the animated ones at time zero)."""
    basic = [table_id(t) for t in SERVED if t.startswith("BT")]
    ext = [table_id(t) - MANUFACTURER_BASE for t in SERVED if t.startswith("ET")]
    v: dict[str, dict[str, Any]] = {}
    v["BT00"] = {
        "data_order": 0, "char_format": 1, "time_format": 2, "data_access_method": 1,
        "identification_format": 0, "integer_format": 0, "non_integer_format_1": 8,
        "non_integer_format_2": 8, "manufacturer": "EELC", "nameplate_type": 2,
        "default_set_used": 0, "procedure_parameter_length": PROCEDURE_PARAMETER_LENGTH,
        "response_data_length": RESPONSE_DATA_LENGTH, "standard_version": 1,
        "standard_revision": 0, "dim_basic_tables_used": 10, "dim_extended_tables_used": 13,
        "dim_basic_procedures_used": 2, "dim_extended_procedures_used": 12,
        "manufacturer_status_length": MFG_STATUS_LENGTH, "nbr_pending_tables": 0,
        "basic_tables_used": _bitset(basic, 10), "extended_tables_used": _bitset(ext, 13),
        "basic_procedures_used": 0, "extended_procedures_used": _bitset([16, 17, 19, 39, 61], 12),
        "basic_tables_writable": _bitset([7, 15, 23], 10),
        "extended_tables_writable": _bitset([3, 13, 50, 51, 52], 13),
    }
    v["BT01"] = {
        "manufacturer": "EELC", "model": "83334-3I", "hardware_version_major": 4,
        "hardware_version_minor": 2, "hardware_version_build": 0, "firmware_version_major": 4,
        "firmware_version_minor": 61, "firmware_version_build": 7,
        "manufacturer_serial_number": "0000004711123456",
    }
    v["BT15"] = {"multiplier": 1, "offset": 0, "applied": False, "ct_ratio": 1, "vt_ratio": 1}
    v["BT20"] = dict(BT21_VALUES, nbr_self_reads=2, nbr_tiers=4)
    v["BT21"] = dict(BT21_VALUES)
    v["BT22"] = {f"summation_sources[{i}]": i for i in range(15)}
    v["BT27"] = {f"present_value_sources[{i}]": 8 + i for i in range(84)}
    v["ET03"] = {"utility_serial_number": "MEPSIM-3PH-000001", "image_crc": 0x5A17}
    v["ET11"] = dict(ET11_VALUES)
    et13: dict[str, Any] = {}
    for i in range(4):
        et13.update({f"device_config[{i}].day": 39, f"device_config[{i}].hour": 0,
                     f"device_config[{i}].scheduled_billing_read_frequency": 4,
                     f"device_config[{i}].baud_rate": 0})
    p = f"device_config[{MEP_SLOT}]"
    et13.update({f"{p}.day": 0, f"{p}.hour": 0, f"{p}.minute": 5,
                 f"{p}.scheduled_billing_read_frequency": 1,
                 f"{p}.scheduled_status_read_frequency": 15, f"{p}.baud_rate": 0})
    v["ET13"] = et13
    s = f"device_status[{MEP_SLOT}]"
    v["ET14"] = {"mode": 0, f"device_{MEP_SLOT + 1}_occupied": True,
                 f"{s}.device_handle": 0x0105, f"{s}.device_status": 3, f"{s}.baud_rate": 0,
                 f"{s}.status_read_timestamp": now.replace(microsecond=0),
                 f"{s}.last_read_attempt": now.replace(microsecond=0)}
    v["ET15"] = {}
    return v


# Electrical model of the default meter: a three-phase load that breathes slowly.
NOMINAL_MV = 230_000
FREQUENCY_MHZ = 50_000


def electrical(t: float) -> dict[str, float]:
    """Per-phase voltage (mV), current (mA), power factor at ``t`` seconds since start."""
    out: dict[str, float] = {}
    for ph in range(3):
        phase = ph * 2.1
        out[f"v{ph + 1}"] = NOMINAL_MV + 1500 * math.sin(t / 7.0 + phase) + 300 * math.sin(t * 1.3)
        out[f"i{ph + 1}"] = 8_000 + 3_000 * math.sin(t / 11.0 + phase) + 500 * math.sin(t * 0.9)
        out[f"pf{ph + 1}"] = 0.95 + 0.03 * math.sin(t / 13.0 + phase)
    out["f"] = FREQUENCY_MHZ + 40 * math.sin(t / 5.0)
    return out


class Meter:
    """Table images by id, with the dynamic tables brought up to date on each access."""

    def __init__(self, images: Mapping[int, bytes] | None = None, *, animate: bool = True,
                 clock=None):
        import time as _time

        self._clock = clock or _time.monotonic
        self._t0 = self._clock()
        self.start = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        self.clock_offset = 0.0
        """Seconds added to the running clock (EP16 changes it)."""
        self.animate = animate
        if images is None:
            images = build_default(self.start)
        self.images: dict[int, bytearray] = {tid: bytearray(b) for tid, b in images.items()}
        self.dims = dimensions(self.images)
        self._energy0 = self._energy_base()
        self._energy_wh = 0.0
        self._last_t = 0.0

    # --- time ---------------------------------------------------------------

    def elapsed(self) -> float:
        return self._clock() - self._t0

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.elapsed() + self.clock_offset)

    # --- images -------------------------------------------------------------

    def size(self, tid: int) -> int | None:
        img = self.images.get(tid)
        return None if img is None else len(img)

    def read(self, tid: int) -> bytes | None:
        """The table's image now (dynamic tables refreshed first)."""
        if tid not in self.images:
            return None
        if self.animate:
            self.refresh(tid)
        return bytes(self.images[tid])

    def write(self, tid: int, offset: int, data: bytes) -> None:
        img = self.images[tid]
        img[offset : offset + len(data)] = data
        if table_tag(tid) in ("BT21", "ET11", "BT00"):
            self.dims = dimensions(self.images)

    def values(self, tag: str) -> dict[str, Any]:
        """Decoded fields of a table as the simulator holds it now."""
        data = self.read(table_id(tag))
        return decode(spec_for(tag), data or b"", dims=self.dims).values()

    def update(self, tag: str, values: Mapping[str, Any]) -> None:
        """Change some fields of a catalog table (the rest keeps its value)."""
        spec = spec_for(tag)
        tid = table_id(tag)
        cur = decode(spec, bytes(self.images[tid]), dims=self.dims).values()
        cur.update(values)
        self.images[tid] = bytearray(encode(spec, cur, self.dims))

    # --- animation ----------------------------------------------------------

    def _energy_base(self) -> dict[str, int]:
        if 23 not in self.images:
            return {}
        vals = decode(spec_for("BT23"), bytes(self.images[23]), dims=self.dims).values()
        return {k: int(v) for k, v in vals.items() if isinstance(v, int)}

    def _integrate(self) -> float:
        """Active energy (Wh) drawn since start, by the trapezium rule at 1 s steps."""
        t_now = self.elapsed()
        t = self._last_t
        while t < t_now:
            step = min(1.0, t_now - t)
            p0 = self._power(electrical(t))
            p1 = self._power(electrical(t + step))
            self._energy_wh += (p0 + p1) / 2 * step / 3600
            t += step
        self._last_t = t_now
        return self._energy_wh

    @staticmethod
    def _power(e: dict[str, float]) -> float:
        return sum(e[f"v{p}"] / 1000 * e[f"i{p}"] / 1000 * e[f"pf{p}"] for p in (1, 2, 3))

    def refresh(self, tid: int) -> None:
        tag = table_tag(tid)
        if tag == "BT23":
            self._refresh_bt23()
        elif tag == "BT28":
            self._refresh_bt28()
        elif tag in ("BT52", "BT55"):
            now = self.now().replace(microsecond=0)
            self.update(tag, {"clock_calendar": now, "day_of_week": (now.weekday() + 1) % 7,
                              "greenwich_mean_time": tag == "BT52"})

    def _refresh_bt23(self) -> None:
        wh = self._integrate()
        varh = wh * 0.33
        base = self._energy0
        upd = {}
        for prefix in ("", "tiers[0]."):
            fwd = base.get(prefix + "fwd_active_wh_l1l2l3", 0) + int(wh)
            upd[prefix + "fwd_active_wh_l1l2l3"] = fwd
            rev = base.get(prefix + "rev_active_wh_l1l2l3", 0)
            upd[prefix + "fwd_plus_rev_active_wh_l1l2l3"] = fwd + rev
            upd[prefix + "fwd_minus_rev_active_wh_l1l2l3"] = fwd - rev
            imp = base.get(prefix + "import_reactive_varh_l1l2l3", 0) + int(varh)
            upd[prefix + "import_reactive_varh_l1l2l3"] = imp
            q1 = base.get(prefix + "reactive_varh_q1", 0) + int(varh)
            upd[prefix + "reactive_varh_q1"] = q1
            upd[prefix + "apparent_energy_vah_q1"] = (
                base.get(prefix + "apparent_energy_vah_q1", 0) + int(math.hypot(wh, varh)))
        self.update("BT23", upd)

    def _refresh_bt28(self) -> None:
        e = electrical(self.elapsed())
        upd: dict[str, int] = {}
        total_w = total_var = 0.0
        for p in (1, 2, 3):
            v, i, pf = e[f"v{p}"], e[f"i{p}"], e[f"pf{p}"]
            s = v / 1000 * i / 1000
            w, var = s * pf, s * math.sqrt(max(0.0, 1 - pf * pf))
            total_w += w
            total_var += var
            upd[f"rms_voltage_l{p}"] = round(v)
            upd[f"rms_current_l{p}"] = round(i)
            upd[f"rms_current_l{p}_ct"] = round(i)
            upd[f"rms_voltage_l{p}_continuous"] = round(v)
            upd[f"rms_voltage_l{p}_average"] = round(NOMINAL_MV + (v - NOMINAL_MV) / 3)
            upd[f"power_factor_l{p}"] = round(pf * 1000)
            upd[f"sin_pa_l{p}"] = round(math.sqrt(max(0.0, 1 - pf * pf)) * 1000)
            upd[f"fwd_active_w_l{p}"] = round(w)
            upd[f"fwd_active_w_l{p}_ctvt"] = round(w)
            upd[f"average_fwd_active_w_l{p}"] = round(w)
            upd[f"average_rms_current_l{p}"] = round(i)
            upd[f"apparent_power_q1_va_l{p}"] = round(s)
        upd.update({
            "fwd_active_w_l1l2l3": round(total_w), "fwd_active_w_l1l2l3_ctvt": round(total_w),
            "average_fwd_active_w_l1l2l3": round(total_w),
            "import_reactive_var_l1l2l3": round(total_var),
            "import_reactive_var_l1l2l3_ctvt": round(total_var),
            "q1_reactive_var_l1l2l3": round(total_var),
            "va_l1l2l3": round(math.hypot(total_w, total_var)),
            "apparent_power_q1_va_l1l2l3": round(math.hypot(total_w, total_var)),
            "frequency": round(e["f"]), "neutral_current": 150,
            "voltage_angle_a_to_b": 12000, "voltage_angle_b_to_c": 12000,
            "voltage_angle_c_to_a": 12000,
        })
        self.update("BT28", upd)

    # --- ET13 alert flags ---------------------------------------------------

    def _flag_slots(self):
        key = tuple(sorted(self.dims.items()))
        if getattr(self, "_flag_key", None) != key:
            self._flag_cache = list(zip(ALERT_FLAGS, alert_flag_slots(self.dims), strict=True))
            self._flag_key = key
        return self._flag_cache

    def alert_flags(self) -> dict[str, bool]:
        """The MEP entry's ET13 alert flags (read straight from the image: cheap)."""
        img = self.images.get(table_id("ET13"))
        if img is None:
            return {}
        out = {}
        for name, s in self._flag_slots():
            raw = bytes(img[s.offset : s.end])
            out[name] = bool(decode_value(s.field, raw))
        return out

    def alerting(self) -> bool:
        return any(self.alert_flags().values())

    def set_alert(self, flag: str, on: bool = True) -> None:
        if flag not in ALERT_FLAGS:
            raise ValueError(f"unknown alert flag {flag!r}; one of {', '.join(ALERT_FLAGS)}")
        self.update("ET13", {f"device_config[{MEP_SLOT}].{flag}": on})

    def et59_response(self) -> bool:
        """ET50 "ET59 Response": procedure results go to ET59 (else BT08)."""
        return bool(self.values("ET50").get(ET59_RESPONSE))

    # --- files ----------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        doc = {"format": FILE_FORMAT,
               "tables": {table_tag(t): bytes(img).hex() for t, img in sorted(self.images.items())}}
        Path(path).write_text(json.dumps(doc, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path, **kw) -> Meter:
        doc = json.loads(Path(path).read_text())
        if doc.get("format") != FILE_FORMAT:
            raise ValueError(f"{path}: not a mep-sim table file (format {FILE_FORMAT!r})")
        images = {table_id(tag): bytes.fromhex(h) for tag, h in doc["tables"].items()}
        return cls(images, **kw)


def build_default(now: dt.datetime | None = None) -> dict[int, bytes]:
    """Images of the default three-phase meter, encoded with the catalog."""
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    dims = dimensions(None)
    images: dict[int, bytes] = {}
    for tag, vals in default_values(now).items():
        images[table_id(tag)] = encode(spec_for(tag), vals, dims)
    # Energy registers at commissioning: a meter a few years into service.
    bt23 = {"fwd_active_wh_l1l2l3": 18_734_250, "rev_active_wh_l1l2l3": 1_250,
            "import_reactive_varh_l1l2l3": 6_182_300, "export_reactive_varh_l1l2l3": 42_100,
            "power_outage_duration": 5_400, "power_outage_qty": 7,
            "reactive_varh_q1": 6_182_300, "apparent_energy_vah_q1": 19_728_000}
    vals = dict(bt23)
    vals.update({f"tiers[0].{k}": v * 6 // 10 for k, v in bt23.items()})
    vals.update({f"tiers[1].{k}": v * 4 // 10 for k, v in bt23.items()})
    vals["fwd_plus_rev_active_wh_l1l2l3"] = bt23["fwd_active_wh_l1l2l3"] + 1_250
    vals["fwd_minus_rev_active_wh_l1l2l3"] = bt23["fwd_active_wh_l1l2l3"] - 1_250
    images[23] = encode(spec_for("BT23"), vals, dims)
    images[28] = bytes(table_size(spec_for("BT28"), dims))
    images[52] = bytes(table_size(spec_for("BT52"), dims))
    images[55] = bytes(table_size(spec_for("BT55"), dims))
    images[table_id("BT07")] = bytes(REQUEST_HEADER_SIZE + PROCEDURE_PARAMETER_LENGTH)
    images[table_id("BT08")] = bytes(RESPONSE_HEADER_SIZE + RESPONSE_DATA_LENGTH)
    images[table_id("ET59")] = bytes(RESPONSE_HEADER_SIZE + RESPONSE_DATA_LENGTH)
    et50 = {ET59_RESPONSE: True}  # ET59 response on, not yet registered
    images[table_id("ET50")] = encode(spec_for("ET50"), et50, dims)
    images[table_id("ET51")] = bytes(table_size(spec_for("ET51"), dims))
    return images
