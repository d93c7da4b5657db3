#!/usr/bin/env python3
"""Write pcaps/use-cases.pcapng: the use cases of the MEP guide's chapter 3, run by a client.

Usage: python pcaps/make_use_cases.py [OUTPUT]

One RC4-authenticated session (the MAK, sixteen 0x01 bytes; nothing
encrypted) between MEP client 1 and a Gen 4 meter whose dimension tables
publish values other than the guide's defaults (six devices in ET11, ET16
entries of 261 bytes, twelve 269-byte ET45 entries in ET36, a 5-byte
manufacturer status in BT00, four outage records in ET04, load profile sets
of 4 x 24 x 3 and 2 x 48 x 2 in BT61, ...), so that every table further down
a chain decodes right only with the sizes read earlier in the capture.

The requests are those chapter 3 describes (offsets and counts from its
formulas); the meter's answers are images built with the catalog
(:func:`mepshark.dissector.catalog.encode`) from one consistent meter state.
Each step is named (``build().steps``, also the request's packet comment)
so that tests can find its frames.  Requests go on interface 0 (EPB outbound),
responses and alerts on interface 1 (inbound); times are synthetic (300 ms
between requests, 45 ms to the answer) from a fixed start, so the file is
the same on every run.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mepshark.capture.pcapng import PcapngWriter
from mepshark.dissector import builders as b
from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND
from mepshark.dissector.catalog import DimensionContext, decode, encode, spec_for
from mepshark.dissector.catalog.loadprofile import geometry
from mepshark.dissector.catalog.manufacturer import MEP_SLOT, alert_flag_slots
from mepshark.dissector.catalog.procedure_calls import (
    CLEAR_DELTA_ALERT,
    CLEAR_MBUS_ALERT,
    procedure_id,
)
from mepshark.dissector.catalog.procedures import (
    RESPONSE_HEADER_SIZE,
    procedure_parts,
    request_spec,
    response_spec,
)
from mepshark.dissector.examples import GUIDE_KEY_HEX
from mepshark.dissector.security import parse_key
from mepshark.dissector.tables import table_id

MAK = parse_key(GUIDE_KEY_HEX, "MAK")
START = dt.datetime(2024, 5, 2, 10, 4, 0, tzinfo=dt.UTC).timestamp()
DEFAULT_OUT = Path(__file__).with_name("use-cases.pcapng")
NOW = dt.datetime(2024, 5, 2, 10, 4)
"""The meter's clock at the start of the capture (local time = UTC here)."""

EP17, EP19, EP39 = (procedure_id(t) for t in ("EP17", "EP19", "EP39"))

EP39_CLEAR_MBUS_ALERT = CLEAR_MBUS_ALERT
"""EP39's layout is not in our copy of the guide: first parameter byte = posting
type, as client and simulator do."""
EP39_CLEAR_DELTA_DATA_ALERT = CLEAR_DELTA_ALERT
"""The one EP39 type the guide numbers (chapter 3, Delta Data Alerts, step 5)."""

# Device handles (chapter 3: MEP client 1 gets 1000..1999).
MEP_OLD, MEP_NEW = 1000, 1001
WATER_1, WATER_2 = 0x0BB9, 0x0BBA
"""The M-Bus devices in slots 1 and 2; the second one was just commissioned."""

# The M-Bus telegram (EN 13757-3, variable data structure): a water meter
# reporting an 8-digit BCD volume with the DRH of the guide's ET57 example
# (0C 93 3A, m3 not temperature corrected) and a type F date/time.
DRH_VOLUME = bytes.fromhex("0C933A")


COMMISSIONED = dt.datetime(2024, 4, 30, 14, 0)
"""When the second water meter was commissioned (its load profile channel starts)."""
SERIAL_1, SERIAL_2 = 0x21090342, 0x24051177
"""Their M-Bus serial numbers, packed BCD (21090342 and 24051177)."""


def water(t: dt.datetime) -> int:
    """The second water meter's register in litres at ``t`` (12 l/h)."""
    return 12_345_678 + int((t - dt.datetime(2024, 5, 1)).total_seconds() // 300)


def bcd(n: int) -> int:
    """An 8-digit number as packed BCD read as a little-endian UINT32 (load profile,
    ET71: the 4 bytes M-Bus sends, stored unchanged)."""
    return int(f"{n:08d}", 16)


def _volume_record(litres: int, when: dt.datetime) -> bytes:
    digits = bcd(litres).to_bytes(4, "little")
    y = when.year % 100
    date = bytes((when.minute, when.hour, when.day | (y & 7) << 5, when.month | (y >> 3) << 4))
    return DRH_VOLUME + digits + b"\x04\x6d" + date


def _mbr(when: dt.datetime, litres: int, serial: int) -> dict[str, Any]:
    """An ET16 entry's values (MEP Billing Read): header fields and data records."""
    records = _volume_record(litres, when)
    telegram = {
        "serial_nbr": serial, "mfg_id": 0x2C2D, "version": 0x1B, "medium": 7,
        "access_number": 0x42, "signature": 0, "data_records": records, "terminator": 0,
    }
    return {"timestamp": when, "response_type": 0, "telegram_length": 13 + len(records),
            **{f"telegram.{k}": v for k, v in telegram.items()}}


# ------------------------------------------------------------------ the meter

DIM_ORDER = ("BT00", "BT01", "ET11", "ET54", "ET04", "BT21", "ET36", "BT60", "BT61", "BT62")
"""Dimension tables in the order their values size each other."""


class Meter:
    """The meter's tables as ``{tag: {path: value}}``; images made on demand."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = _initial_state()

    def dims(self) -> DimensionContext:
        """What a client learns from every dimension table as it stands now."""
        ctx = DimensionContext()
        for tag in DIM_ORDER:
            if tag in self.values:
                spec = spec_for(tag)
                ctx.learn(decode(spec, encode(spec, self.values[tag], ctx.view()), 0, ctx.view()))
        return ctx

    def image(self, tag: str) -> bytes:
        return encode(spec_for(tag), self.values[tag], self.dims().view())

    def update(self, tag: str, values: Mapping[str, Any]) -> None:
        """Change some fields of a table (by path)."""
        self.values[tag].update(values)


def _initial_state() -> dict[str, dict[str, Any]]:
    v: dict[str, dict[str, Any]] = {}
    v["BT00"] = {
        "data_order": 0, "char_format": 1, "time_format": 2, "data_access_method": 1,
        "non_integer_format_1": 8, "non_integer_format_2": 8, "manufacturer": "EELC",
        "nameplate_type": 2, "procedure_parameter_length": 100,
        "response_data_length": 20,  # guide default 12
        "standard_version": 2, "dim_basic_tables_used": 10, "dim_extended_tables_used": 13,
        "dim_basic_procedures_used": 2, "dim_extended_procedures_used": 12,
        "manufacturer_status_length": 5,  # guide default 9: the 40 named alarm bits
        "nbr_pending_tables": 4,
    }
    v["BT01"] = {"manufacturer": "EELC", "model": "MTR4000", "hardware_version_major": 4,
                 "hardware_version_minor": 1, "firmware_version_major": 4,
                 "firmware_version_minor": 21, "firmware_version_build": 3,
                 "manufacturer_serial_number": "0000000420517731"}
    v["ET11"] = {
        "nbr_devices": 6,  # Gen 4: two MEP clients and four M-Bus devices (default 5)
        "config_entry_size": 66, "status_entry_size": 36, "on_demand_request_queue_size": 5,
        "on_demand_request_entry_size": 6,
        "data_entry_size": 261,  # default 517
        "transaction_request_length": 896, "transaction_response_length": 1785,
        "on_demand_write_entry_size": 25, "phase_measurement_data_size": 16,
        "config_entry_2_size": 22, "nbr_group_ids": 10, "nbr_harmonics": 10,
        "mbus_multicast_message_length": 33,  # default 65: sizes EP19's write data
        "et22_alarm_size": 120, "mep_data_sources": 6, "et48_entry_count": 10,
        "max_critical_event_bitmaps": 10, "et57_entry_count": 16,
        "time_based_relay_switches": 80,
        "mep_data_alert_sources": 10,  # the default until the client sets 4 (delta data)
        "reserved_32": 6, "reserved_33": 7, "mep_channel_count": 2,
        "error_caution_screen_count": 8,
    }
    v["ET54"] = {"multiple_load_profile_data_set_support": 1,
                 "lcd_value_id_code_5_digit_support": 1, "multiple_mep_clients": 1,
                 "et74_entry_count": 0, "et79_entry_count": 0, "mep_tx_lock_channel": 0,
                 "security_mode_rc4": 1}
    v["ET04"] = {
        "sequence_number": 0x00A3117F, "transceiver_id": bytes.fromhex("04A21C0F3E01"),
        "subnet_id": 12, "node_id": 87, "rated_frequency": 50, "max_power_outages_recorded": 4,
        "max_nbr_te_registers": 8, "registration_current": 20, "max_current": 100,
        "rated_voltage": 230, "phase_loss_threshold": 35,  # <= 35 %: chapter 3
        "power_outage_detection_threshold": 60, "meter_form": 0, "idt_version": 7,
        "c12_19_compliance": 0x0001, "security_mode": 0, "neuron_state": 4,
    }
    v["BT21"] = {
        "season_information_field": 1, "date_time_field": 1, "demand_reset_counter": 1,
        "time_remaining": 1, "daily_self_read": 1, "self_read_sequence_number": 1,
        "nbr_self_reads": 6, "nbr_summations": 4, "nbr_demands": 2, "nbr_coincident_values": 0,
        "nbr_occurrences": 1, "nbr_tiers": 2, "nbr_present_demands": 1,
        "nbr_present_values": 12,
    }
    v["BT22"] = {"summation_sources[0]": 0, "summation_sources[1]": 1, "summation_sources[2]": 2,
                 "summation_sources[3]": 3, "demand_select[0]": 8, "demand_select[1]": 9,
                 "min_max_flags": 0b11}
    v["ET36"] = _et36()
    v["BT61"] = {
        "memory_length": 65536, "set1_scalar_divisor_enable": 1,
        "extended_interval_status": 1, "simple_interval_status": 1,
        "uint16_supported": 1, "int32_supported": 1,
        "nbr_blks_set1": 4, "nbr_blk_ints_set1": 24, "nbr_chns_set1": 3, "max_int_time_set1": 60,
        "nbr_blks_set2": 2, "nbr_blk_ints_set2": 48, "nbr_chns_set2": 2, "max_int_time_set2": 30,
        "nbr_blks_set3": 0, "nbr_blk_ints_set3": 0, "nbr_chns_set3": 0, "max_int_time_set3": 0,
        "nbr_blks_set4": 0, "nbr_blk_ints_set4": 0, "nbr_chns_set4": 0, "max_int_time_set4": 0,
    }
    v["BT62"] = {
        # set 1: energy in, energy out and the M-Bus water meter (mapped source 112)
        "channel_settings_set1[0].interval_source": 0,
        "channel_settings_set1[1].interval_source": 1,
        "channel_settings_set1[2].interval_source": 112,
        "format_set1": 32,
        **{f"scalars_set1[{i}]": 1 for i in range(3)},
        **{f"divisors_set1[{i}]": 1 for i in range(3)},
        # set 2: minimum and maximum voltage of L2 in volts, UINT16
        "channel_settings_set2[0].interval_source": 165,
        "channel_settings_set2[1].interval_source": 168,
        "format_set2": 2, "format_set3": 32, "format_set4": 32,
    }
    v.update(_devices_state())
    v.update(_load_profile_state())
    v.update(_history_state())
    v.update(_quality_state())
    return v


def _et36() -> dict[str, Any]:
    logs = {  # tag: (entry size, max entries, current entries); ET45 differs from the defaults
        "ET31": (232, 255, 2), "ET32": (525, 255, 8), "ET38": (35, 255, 10), "ET41": (0, 255, 0),
        "ET45": (269, 253, 12), "ET75": (143, 253, 0), "ET81": (12, 253, 0),
    }
    out: dict[str, Any] = {"count": len(logs), "unread_entries_bitmap": 1 << 4}
    for tag, (size, most, cur) in logs.items():
        p = tag.lower() + "_"
        out.update({p + "tbl_proc_nbr": int(tag[2:]), p + "std_vs_mfg_flag": 1,
                    p + "entry_size": size, p + "max_entries": most, p + "current_entries": cur,
                    p + "length_included": int(tag == "ET45")})
    return out


FIRST_READ = _mbr(dt.datetime(2024, 5, 1, 0, 0, 5), water(dt.datetime(2024, 5, 1)), SERIAL_2)
"""The first read of the new water meter, kept in its ET16 entry."""
ON_DEMAND_READ = _mbr(dt.datetime(2024, 5, 2, 10, 4, 9), water(dt.datetime(2024, 5, 2, 10, 4)),
                      SERIAL_2)
"""What the on-demand billing read (EP19) puts into the same entry."""
ET45_ENTRY_SIZE = 269
ET45_CAPACITY = 12
ET45_LAST = 2
"""The queue has wrapped: 12 valid entries, the newest in element 2."""


def _et45_entries() -> dict[str, Any]:
    out: dict[str, Any] = {"list_type": 1, "nbr_valid_entries": ET45_CAPACITY,
                           "last_entry_element": ET45_LAST, "last_entry_sequence_number": 417,
                           "nbr_unread_entries": 2}
    # oldest first: ten daily reads of the first water meter, then both meters on May 2
    order = [(ET45_LAST + 1 + k) % ET45_CAPACITY for k in range(ET45_CAPACITY)]
    day0 = dt.datetime(2024, 4, 22, 0, 0, 4)
    reads = [(WATER_1, day0 + dt.timedelta(days=k), 3_170_554 + 411 * k, SERIAL_1)
             for k in range(11)]
    reads.append((WATER_2, dt.datetime(2024, 5, 2, 0, 0, 6), water(dt.datetime(2024, 5, 2)),
                  SERIAL_2))
    for element, (handle, when, litres, serial) in zip(order, reads, strict=True):
        mbr = _mbr(when, litres, serial)
        p = f"log_entries[{element}]."
        out.update({p + "length": 8 + 8 + mbr["telegram_length"], p + "identifier": 1,
                    p + "namespace": 2, p + "handle": handle, p + "execution_status": 0,
                    p + "result": 4, **{p + "data." + k: v for k, v in mbr.items()}})
    return out


def _devices_state() -> dict[str, dict[str, Any]]:
    v: dict[str, dict[str, Any]] = {}
    status = {"mode": 0, "device_1_occupied": 1, "device_2_occupied": 1,
              f"device_{MEP_SLOT + 1}_occupied": 1}
    for slot, handle in ((0, WATER_1), (1, WATER_2)):
        p = f"device_status[{slot}]."
        status.update({p + "device_handle": handle, p + "device_status": 1, p + "baud_rate": 3,
                       p + "billing_read_length": 8 + FIRST_READ["telegram_length"],
                       p + "read_attempts": 412 - 400 * slot, p + "read_answers": 410 - 400 * slot,
                       p + "mbus_application_primary_address": slot + 1,
                       p + "status_read_timestamp": dt.datetime(2024, 5, 2, 10, 0, 2),
                       p + "last_read_attempt": dt.datetime(2024, 5, 2, 10, 0, 2)})
    status.update({"device_status[1].billing_data_collected": 1,
                   "device_status[1].new_device_alarm": 1})
    p = f"device_status[{MEP_SLOT}]."
    status.update({p + "device_handle": MEP_OLD, p + "device_status": 3})
    v["ET14"] = status
    v["ET16"] = {f"device_table[1].{k}": x for k, x in FIRST_READ.items()}
    v["ET45"] = _et45_entries()
    v["ET15"] = {"write_pointer": 2, "read_pointer": 2,
                 "request_queue[0].transaction_nbr": 0x0105, "request_queue[0].device_handle":
                 WATER_1, "request_queue[0].request_type": 3, "request_queue[0].result": 1,
                 "request_queue[1].transaction_nbr": 0x0106, "request_queue[1].device_handle":
                 WATER_1, "request_queue[1].request_type": 5, "request_queue[1].result": 1}
    ident = b"MEPC-OLD-000117"
    v["ET50"] = {"mep_inbound_configuration[0].identification_string": ident,
                 "mep_inbound_configuration[0].mep_device_registered": 1,
                 "mep_inbound_configuration[0].et59_response": 1}
    v["ET13"] = {f"device_config[{MEP_SLOT}].{k}": x for k, x in (
        ("day", 39), ("scheduled_billing_read_frequency", 4), ("baud_rate", 0))}
    v["ET58"] = {"device_status[0].control_status": 0, "device_status[1].control_status": 1}
    v["ET57"] = {"mdt_entries[0].entry_type": 1, "mdt_entries[0].mdt": 1,
                 "mdt_entries[0].drh": DRH_VOLUME}
    v["ET34"] = {f"device_config[{i}].load_profile_poll_rate": 60 for i in (0, 1)}
    v["ET66"] = {"extended_source_ids[0]": 0x4101}  # M-Bus (4), ET13 index 1, MDT 1
    v["ET71"] = {}
    return v


LP_NOW_BLOCK, LP_NOW_INTERVALS = 2, 10
"""Set 1: today's block is element 2 and holds 10 hourly intervals (to 10:00)."""
LP2_NOW_BLOCK, LP2_NOW_INTERVALS = 1, 20
"""Set 2: today's block is element 1, twenty 30-minute intervals."""


def lp_set1(t: dt.datetime) -> tuple[int, int, int]:
    """Data set 1's channels at ``t``: Wh in, Wh out, the water meter (BCD litres)."""
    hours = int((t - dt.datetime(2024, 4, 1)).total_seconds() // 3600)
    return 4_120_000 + 850 * hours, 1_000 + 3 * hours, bcd(water(t))


def _load_profile_state() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    bt64: dict[str, Any] = {}
    today = dt.datetime(2024, 5, 2)
    for k, block in enumerate((3, 0, 1, 2)):  # oldest first: Apr 29 .. May 2
        start = today - dt.timedelta(days=3 - k)
        n = LP_NOW_INTERVALS if block == LP_NOW_BLOCK else 24
        p = f"blocks[{block}]."
        bt64[p + "end_time"] = start + dt.timedelta(hours=n)
        bt64[p + "simple_status"] = (1 << n) - 1
        for i in range(n):
            end = start + dt.timedelta(hours=i + 1)
            ip = f"{p}intervals[{i}]."
            for c, x in enumerate(lp_set1(end)):
                bt64[f"{ip}interval_channel_data[{c}]"] = x
            if end <= COMMISSIONED:  # no water meter yet
                bt64[f"{ip}interval_channel_data[2]"] = 0
                bt64[f"{ip}extended_status[0].even_channel_status"] = 10
            if block == 1 and i == 2:  # the M-Bus poll for 03:00 failed: channel skipped
                bt64[f"{ip}interval_channel_data[2]"] = 0
                bt64[f"{ip}extended_status[0].even_channel_status"] = 4
    out["BT64"] = bt64
    bt65: dict[str, Any] = {}
    for block, start, n in ((0, today - dt.timedelta(days=1), 48),
                            (1, today, LP2_NOW_INTERVALS)):
        p = f"blocks[{block}]."
        bt65[p + "end_time"] = start + dt.timedelta(minutes=30 * n)
        bt65[p + "simple_status"] = (1 << n) - 1
        for i in range(n):
            low = 229 - (i % 5) if block == 0 or i < 16 else 113 + (i % 3)
            bt65[f"{p}intervals[{i}].interval_channel_data_uint16[0]"] = low
            bt65[f"{p}intervals[{i}].interval_channel_data_uint16[1]"] = 233 + (i % 4)
    out["BT65"] = bt65
    out["BT63"] = {}
    for n, (blocks, last, ints) in enumerate(((4, LP_NOW_BLOCK, LP_NOW_INTERVALS),
                                              (2, LP2_NOW_BLOCK, LP2_NOW_INTERVALS))):
        p = f"data_set_status[{n}]."
        out["BT63"].update({p + "list_type": 1, p + "active_mode": 1,
                            p + "nbr_valid_blocks": blocks, p + "last_block": last,
                            p + "last_block_sequence_number": 120 + last,
                            p + "nbr_unread_blocks": 1, p + "nbr_valid_intervals": ints})
    return out


def _et21_state(dims: Any, bt63: Mapping[str, Any]) -> dict[str, Any]:
    """ET21 as the meter derives it from its configuration (sets 1 and 2)."""
    out: dict[str, Any] = {}
    for n, minutes, sources in ((1, 60, (0, 1, 112)), (2, 30, (165, 168))):
        g = geometry(n, dims)
        last = bt63[f"data_set_status[{n - 1}].last_block"]
        ints = bt63[f"data_set_status[{n - 1}].nbr_valid_intervals"]
        p = f"data_set_internal_configuration[{n - 1}]."
        out.update({
            p + "current_block_address": 0x4000 * n + last * g.block_size,
            p + "current_interval_address": 0x4000 * n + last * g.block_size
            + g.block_header_size + (ints - 1) * g.interval_size,
            p + "block_size": g.block_size, p + "block_header_size": g.block_header_size,
            p + "nbr_valid_blocks": g.nbr_blocks, p + "nbr_valid_intervals": ints,
            p + "last_block_index": last, p + "last_interval_number": ints - 1,
            p + "simple_status_offset_from_block": 5,
            p + "simple_status_size": g.block_header_size - 5,
            p + "interval_0_offset_from_block": g.block_header_size,
            p + "interval_size": g.interval_size,
            p + "channel_0_offset_from_interval": 1 + g.nbr_channels // 2,
            p + "nbr_channels": g.nbr_channels, p + "interval_time": minutes,
            p + "block_start_hour": 0, p + "block_start_minute": 0,
            p + "interval_in_progress": ints,
            p + "block_start_time": dt.datetime(2024, 5, 2),
            p + "interval_end_time_utc": NOW.replace(minute=0) + dt.timedelta(minutes=minutes),
            p + "interval_end_time_local": NOW.replace(minute=0) + dt.timedelta(minutes=minutes),
            p + "max_memory_length": 32768,
        })
        for i, s in enumerate(sources):
            out[f"{p}sources[{i}]"] = s
    return out


def _history_state() -> dict[str, dict[str, Any]]:
    bt26: dict[str, Any] = {"list_type": 1, "nbr_valid_entries": 6, "last_entry_element": 1,
                            "last_entry_sequence_number": 733, "nbr_unread_entries": 1}
    day = dt.datetime(2024, 5, 2)
    for k, e in enumerate((2, 3, 4, 5, 0, 1)):  # oldest first: Apr 27 .. May 2
        when = day - dt.timedelta(days=5 - k)
        p = f"self_read_entries[{e}]."
        wh = 4_120_000 + 20_400 * (25 + k)
        bt26.update({p + "blg_iface_def_nbr": 0x0102, p + "time_and_date": when,
                     p + "season": 1, p + "register_data.nbr_demand_resets": 3,
                     p + "register_data.fwd_active_wh_l1l2l3": wh,
                     p + "register_data.rev_active_wh_l1l2l3": 1_000 + 72 * (25 + k),
                     p + "register_data.import_reactive_varh_l1l2l3": wh // 9,
                     p + "register_data.export_reactive_varh_l1l2l3": wh // 40})
        for tier, share in ((0, 2 / 3), (1, 1 / 3)):
            tp = f"{p}register_data.tiers[{tier}]."
            bt26[tp + "fwd_active_wh_l1l2l3"] = int(wh * share)
        for d, w in ((0, 5210 + 37 * k), (1, 140 + k)):
            dp = f"{p}register_data.demands[{d}]."
            bt26[dp + "event_time[0]"] = when - dt.timedelta(hours=5, minutes=15 * d)
            bt26[dp + "demand[0]"] = w
    return {"BT26": bt26}


def _quality_state() -> dict[str, dict[str, Any]]:
    et09: dict[str, Any] = {"long_outage_duration_threshold": 180,
                            "sag1_surge_time_threshold": 1, "sag1_threshold": 10,
                            "surge_threshold": 10, "over_current_threshold": 120}
    for k in range(4):  # most recent first
        off = dt.datetime(2024, 4, 28 - 5 * k, 3, 12)
        p = f"power_outage_records[{k}]."
        et09.update({p + "power_off_date_time": off, p + "power_on_date_time":
                     off + dt.timedelta(seconds=95 + 40 * k), p + "reset_cause": 3,
                     p + "power_off_duration": 95 + 40 * k})
    for ph, n in (("l1", 0), ("l2", 4), ("l3", 4)):
        et09[f"{ph}_sag1_events"] = n
        et09[f"{ph}_phase_loss_events"] = 0
        if n:
            et09[f"{ph}_most_recent_sag1_event"] = dt.datetime(2024, 5, 2, 8, 2, 10)
            et09[f"{ph}_most_recent_sag1_voltage"] = 115_400
    et09.update({"min_frequency": 49_962, "max_frequency": 50_041, "short_outage_count": 2,
                 "pq_configuration_id": 0x00000011})
    bt28 = {"present_demands[0].time_remaining": dt.time(0, 11, 0),
            "present_demands[0].demand_value": 5120, "fwd_active_w_l1l2l3": 5084,
            "rms_current_l1": 11_900, "rms_current_l2": 5_850, "rms_current_l3": 6_010,
            "rms_voltage_l1": 231_200, "rms_voltage_l2": 115_800, "rms_voltage_l3": 116_300,
            "power_factor_l1": 980, "frequency": 50_002}
    bt03 = {"metering_mode": 1, "mfg_alarms.unbalanced_voltage_detected": 1,
            "mfg_alarms.power_quality_event_detected": 1}
    et55 = {"broken_mv_conductor_detection_time_threshold": 600,
            "zero_fault_detection_time_threshold": 10, "normal_voltage_upper_limit": 115,
            "normal_voltage_lower_limit": 85, "low_voltage_higher_limit": 60,
            "voltage_fluctuation_limit": 5, "phase_loss_threshold_seconds": 30}
    return {"ET09": et09, "BT28": bt28, "BT03": bt03, "ET55": et55}


# -------------------------------------------------------------------- session


@dataclass
class Session:
    """The client's requests and the meter's answers, as capture records."""

    meter: Meter = field(default_factory=Meter)
    client: b.Requester = field(default_factory=lambda: b.Requester(MAK, 0x2F6A1C05))
    records: list[tuple[float, int, bytes, list[str]]] = field(default_factory=list)
    steps: dict[str, int] = field(default_factory=dict)
    """Step name -> record number (1-based) of its request; the answer follows."""
    t: float = START

    def _exchange(self, step: str, body: Any, answer: Any, gap: float = 0.3) -> None:
        assert step not in self.steps, step
        self.t += gap
        wire, seal = self.client.seal(body)
        self.records.append((self.t, EPB_OUTBOUND, wire, [step]))
        self.steps[step] = len(self.records)
        self.records.append((self.t + 0.045, EPB_INBOUND, b.respond(answer, seal), []))

    def read(self, step: str, tag: str, offset: int | None = None, count: int | None = None,
             gap: float = 0.3) -> None:
        """A full read (no offset) or a partial read of the meter's table as it stands."""
        image = self.meter.image(tag)
        tid = table_id(tag)
        if offset is None:
            self._exchange(step, b.full_read(tid, len(image)), b.read_ok(image), gap)
        else:
            data = image[offset:offset + count]
            assert len(data) == count, (step, len(image))
            self._exchange(step, b.partial_read(tid, offset, count), b.read_ok(data), gap)

    def write(self, step: str, tag: str, data: bytes, offset: int | None = None,
              gap: float = 0.3) -> None:
        tid = table_id(tag)
        body = b.full_write(tid, data) if offset is None else b.partial_write(tid, offset, data)
        self._exchange(step, body, b.write_ok(), gap)

    def call(self, step: str, number: int, params: Mapping[str, Any], psn: int,
             gap: float = 0.3) -> None:
        """Write BT07: the procedure's header and parameters."""
        values = {**procedure_parts(number), "sequence": psn, **params}
        data = encode(request_spec(number), values, self.meter.dims().view())
        # opaque parameters (Rest) have no size until there is data: append them
        data += values.get("parameters", b"")
        self.write(step, "BT07", data, gap=gap)

    def result(self, step: str, number: int, psn: int, code: int = 0,
               response: Mapping[str, Any] | None = None, gap: float = 0.3) -> None:
        """A full read of ET59, 4 + BT00.response_data_length bytes."""
        dims = self.meter.dims()
        values = {**procedure_parts(number), "sequence": psn, "result_code": code,
                  **(response or {})}
        data = encode(response_spec(number, "ET59"), values, dims.view())
        size = RESPONSE_HEADER_SIZE + dims.get("BT00", "response_data_length")
        data = data[:size].ljust(size, b"\0")
        self._exchange(step, b.full_read(table_id("ET59"), size), b.read_ok(data), gap)

    def alert(self, step: str, times: int = 1) -> None:
        """The meter's alert sequence, once a second until the client reads ET13."""
        for k in range(times):
            self.t += 0.3 if k == 0 else 1.0
            self.records.append((self.t, EPB_INBOUND, b.ALERT, [f"{step} (alert {k + 1})"]))
        self.steps[step] = len(self.records) - times + 1

    def wait(self, seconds: float) -> None:
        self.t += seconds


def _et13_flags(s: Session, step: str) -> None:
    """MEP client 1's ET13 "Alert Flags" byte."""
    flags = alert_flag_slots(s.meter.dims().view())[0]
    s.read(step, "ET13", flags.offset, flags.size)


# ----------------------------------------------------------------- use cases


def session_start(s: Session) -> None:
    """What a client reads first: general configuration, dimensions, its ET50 entry."""
    for tag in ("BT00", "BT01", "ET11", "ET54"):
        s.read(f"start.{tag.lower()}", tag)
    s.read("start.et50", "ET50", 0, 71)  # MEP client 1's element


def mbus_scheduled_reads(s: Session) -> None:
    """Chapter 3, Reading M-Bus Scheduled Read Data, steps 1..7."""
    s.read("mbus.et14", "ET14")  # 1-2: occupancy bits, then the new slot's handle
    s.wait(10)
    s.read("mbus.et14_slot2", "ET14", 6 + 36, 36)  # 3: billing data collected, read length
    length = s.meter.values["ET14"]["device_status[1].billing_read_length"]
    s.read("mbus.et16_slot2", "ET16", 1 * 261, length)  # 4: the first read, only its bytes
    s.read("mbus.et36", "ET36", 1 + 4 * 17, 17)  # ET45's record, the fifth of 17 bytes
    s.read("mbus.et45_header", "ET45", 0, 6)  # 5: where the new entries are
    size = ET45_ENTRY_SIZE
    for element in (1, 2):  # 6: Length and Handle of the unread entries
        s.read(f"mbus.et45_entry{element}_head", "ET45", 6 + element * size, 6)
    entry = s.meter.values["ET45"]
    length = entry[f"log_entries[{ET45_LAST}].length"]
    s.read("mbus.et45_newest", "ET45", 6 + ET45_LAST * size, length)  # its bytes only


def mbus_on_demand(s: Session) -> None:
    """Chapter 3, Reading On-Demand M-Bus Data: EP19, ET15 polled, ET16."""
    params = {"transaction_number": 0x7A10, "device_handle": WATER_2, "request_type": 2,
              "write_data_length": 0}
    s.call("ondemand.ep19", EP19, params, psn=1)
    s.meter.update("ET15", {
        "write_pointer": 3, "request_queue[2].transaction_nbr": 0x7A10,
        "request_queue[2].device_handle": WATER_2, "request_queue[2].request_type": 2,
        "request_queue[2].result": 0})
    s.result("ondemand.et59", EP19, psn=1, response={"entry_index": 2})
    s.wait(1)
    s.read("ondemand.et15_poll1", "ET15", 0, 1 + 5 * 6)
    s.meter.update("ET15", {"request_queue[2].result": 1, "read_pointer": 3})
    s.meter.update("ET16", {f"device_table[1].{k}": x for k, x in ON_DEMAND_READ.items()})
    s.meter.update("ET14", {"device_status[1].billing_read_length":
                                  8 + ON_DEMAND_READ["telegram_length"]})
    s.wait(1)
    s.read("ondemand.et15_poll2", "ET15", 0, 1 + 5 * 6)
    s.read("ondemand.et14_length", "ET14", 6 + 36 + 4, 2)
    s.read("ondemand.et16_slot2", "ET16", 261, 8 + ON_DEMAND_READ["telegram_length"])


def historical_registers(s: Session) -> None:
    """Chapter 3, Reading Historical Register Data: BT21, BT22, then BT26 in pieces."""
    s.read("history.bt21", "BT21")
    s.read("history.bt22", "BT22")
    s.read("history.bt26_header", "BT26", 0, 6)
    entry = 111  # 2 + 5 + 1 + 103 register bytes under these BT21 dimensions
    s.read("history.bt26_entries_0_2", "BT26", 6, 3 * entry)
    s.read("history.bt26_entries_3_5", "BT26", 6 + 3 * entry, 3 * entry)


def load_profile(s: Session) -> None:
    """Chapter 3, Load Profile Data: configuration, M-Bus parsing, newest block and interval."""
    s.read("lp.bt61", "BT61")  # step 1
    s.read("lp.bt62", "BT62")  # step 2
    s.read("lp.et66", "ET66", 0, 2)  # source 112 -> mapped entry 0
    s.read("lp.et57", "ET57")  # MDT 1 <- DRH 0C 93 3A
    _lp_status(s, "lp")
    dims = s.meter.dims()
    g1, g2 = geometry(1, dims.view()), geometry(2, dims.view())
    # step 5: the most recent full block; step 6: the most recent interval
    s.read("lp.bt64_full_block", "BT64", ((LP_NOW_BLOCK - 1) % g1.nbr_blocks) * g1.block_size,
           g1.block_size)
    s.read("lp.bt64_newest_interval", "BT64", LP_NOW_BLOCK * g1.block_size
           + g1.block_header_size + (LP_NOW_INTERVALS - 1) * g1.interval_size, g1.interval_size)
    s.read("lp.et21_set2", "ET21", 131, 131)
    s.read("lp.bt65_newest_interval", "BT65", LP2_NOW_BLOCK * g2.block_size
           + g2.block_header_size + (LP2_NOW_INTERVALS - 1) * g2.interval_size, g2.interval_size)


def _lp_status(s: Session, prefix: str) -> None:
    s.read(f"{prefix}.bt63", "BT63")  # step 3
    s.meter.values["ET21"] = _et21_state(s.meter.dims().view(), s.meter.values["BT63"])
    s.read(f"{prefix}.et21_set1", "ET21", 0, 131)  # step 4: data set 1's element


def load_profile_alert(s: Session) -> None:
    """The interval ending 11:00 completes: alert, ET13, BT63, ET21, BT64, EP39."""
    s.wait(60 * 55)
    n = LP_NOW_INTERVALS + 1
    start = dt.datetime(2024, 5, 2)
    i = n - 1
    p = f"blocks[{LP_NOW_BLOCK}]."
    e = lp_set1(start + dt.timedelta(hours=n))
    s.meter.update("BT64", {p + "end_time": start + dt.timedelta(hours=n),
                                  p + "simple_status": (1 << n) - 1,
                                  **{f"{p}intervals[{i}].interval_channel_data[{c}]": e[c]
                                     for c in range(3)}})
    s.meter.update("BT63", {"data_set_status[0].nbr_valid_intervals": n})
    s.meter.update("ET13", {f"device_config[{MEP_SLOT}].mbus_change": 1})
    s.alert("lpalert.alert", times=2)
    _et13_flags(s, "lpalert.et13")
    _lp_status(s, "lpalert")
    g1 = geometry(1, s.meter.dims().view())
    s.read("lpalert.bt64_newest_interval", "BT64", LP_NOW_BLOCK * g1.block_size
           + g1.block_header_size + i * g1.interval_size, g1.interval_size)
    s.call("lpalert.ep39", EP39, {"parameters": bytes([EP39_CLEAR_MBUS_ALERT])}, psn=2)
    s.meter.update("ET13", {f"device_config[{MEP_SLOT}].mbus_change": 0})
    s.result("lpalert.et59", EP39, psn=2)


def control_valve(s: Session) -> None:
    """Chapter 3, Reading a Control Valve Status and Detecting Control Valve Commands."""
    flags = 0b0111  # registered, ET59 responses, M-Bus alerts (ET50.30.2)
    s.write("valve.et50_mbus_alerts", "ET50", bytes([flags]), offset=30)
    s.meter.update("ET50", {"mep_inbound_configuration[0].mbus_alerts": 1})
    s.wait(20)
    s.meter.update("ET58", {"device_status[1].control_status": 0})
    s.meter.update("ET13", {f"device_config[{MEP_SLOT}].mbus_change": 1})
    s.alert("valve.alert")
    _et13_flags(s, "valve.et13")
    s.read("valve.et58", "ET58")
    s.call("valve.ep39", EP39, {"parameters": bytes([EP39_CLEAR_MBUS_ALERT])}, psn=3)
    s.meter.update("ET13", {f"device_config[{MEP_SLOT}].mbus_change": 0})
    s.result("valve.et59", EP39, psn=3)
    # Detecting commands: an MDT for the valve command in ET57, monitored through ET34
    mdt = {"mdt_entries[1].entry_type": 1, "mdt_entries[1].mdt": 2,
           "mdt_entries[1].drh": bytes.fromhex("01FD1A")}
    s.meter.update("ET57", mdt)
    s.write("valve.et57_mdt2", "ET57", s.meter.image("ET57")[4:8], offset=4)
    s.meter.update("ET34", {"device_config[1].command_monitor_mdt": 2})
    s.write("valve.et34_monitor", "ET34", bytes([2]), offset=22 + 7)
    s.read("valve.et34", "ET34")


DELTA_SOURCES = ((16, 20_000, 230_400, 115_800), (17, 20_000, 230_100, 116_300),
                 (0x4101, 500, bcd(water(NOW)), bcd(water(NOW))), (0x00FF, 0, 0, 0))
"""ET71 entries: monitored source, delta, comparison and sampled values (L2, L3 in mV;
the water meter's BCD reading)."""


def delta_data_alerts(s: Session) -> None:
    """Chapter 3, Delta Data Alerts, steps 1..5."""
    s.write("delta.et50_enable", "ET50", bytes([0b1111]), offset=30)  # 1: ET50.30.3
    s.meter.update("ET50", {"mep_inbound_configuration[0].delta_data_alerts": 1})
    s.write("delta.et11_sources", "ET11", bytes([4]), offset=27)  # 2: four sources
    s.meter.update("ET11", {"mep_data_alert_sources": 4})
    s.read("delta.et11_check", "ET11", 27, 1)
    config = {}
    for i, (src, delta, _cmp, _sample) in enumerate(DELTA_SOURCES):
        config.update({f"delta_data[{i}].delta_data_monitor_source": src,
                       f"delta_data[{i}].configured_delta": delta})
    s.meter.values["ET71"] = dict(config)
    s.write("delta.et71_config", "ET71", s.meter.image("ET71"))  # 3
    s.wait(5)
    for i, (_src, _delta, cmp, sample) in enumerate(DELTA_SOURCES):
        s.meter.update("ET71", {f"delta_data[{i}].comparison_value": cmp,
                                      f"delta_data[{i}].sampled_data_value": sample})
    s.meter.update("ET13", {f"device_config[{MEP_SLOT}].delta_data_alert": 1})
    s.alert("delta.alert")
    _et13_flags(s, "delta.et13")  # 4
    s.read("delta.et71", "ET71")
    s.call("delta.ep39", EP39, {"parameters": bytes([EP39_CLEAR_DELTA_DATA_ALERT])}, psn=4)
    s.meter.update("ET13", {f"device_config[{MEP_SLOT}].delta_data_alert": 0})
    s.result("delta.et59", EP39, psn=4)  # 5
    _et13_flags(s, "delta.et13_cleared")


def unbalanced_voltage(s: Session) -> None:
    """Chapter 3, Unbalanced Voltage Detection: the alarm, its settings and the evidence."""
    s.read("voltage.bt03", "BT03")  # Unbalanced Voltage Detected, manufacturer alarm 32
    s.read("voltage.et04", "ET04")  # rated voltage, phase loss threshold, outage records
    s.read("voltage.et55", "ET55", 120, 8)  # Gen 4 offsets: the detection settings
    s.read("voltage.bt28", "BT28", 35, 12)  # RMS voltages L1..L3 after one present demand
    dims = s.meter.dims().view()
    from mepshark.dissector.catalog import layout

    slots = {x.path: x for x in layout(spec_for("ET09"), dims)}
    lo = slots["l1_most_recent_sag1_event"].offset
    hi = slots["short_outage_count"].end
    s.read("voltage.et09", "ET09", lo, hi - lo)  # per-phase part, after the outage records


def replace_client(s: Session) -> None:
    """Chapter 3, Replacing a MEP Client Device, case 2: the new device removes the old one."""
    s.wait(600)
    old = s.client
    s.client = b.Requester(MAK, 0)  # a new device, its own sequence number
    s.t += 0.3
    wire, seal = s.client.seal(b.full_read(table_id("BT00"), len(s.meter.image("BT00"))))
    s.records.append((s.t, EPB_OUTBOUND, wire, ["replace.bt00_guess"]))
    s.steps["replace.bt00_guess"] = len(s.records)
    s.records.append((s.t + 0.045, EPB_INBOUND, b.respond(b.bad_sequence(old.sequence), seal),
                      []))
    s.client.resync(old.sequence)
    s.read("replace.bt00", "BT00")
    s.read("replace.et11", "ET11")
    s.read("replace.et50", "ET50", 0, 31)  # whose identification is registered?
    s.read("replace.et14_mep", "ET14", 6 + MEP_SLOT * 36, 36)  # the old device's handle
    s.call("replace.ep17", EP17, {"action": 0, "device_handle": MEP_OLD}, psn=1)
    s.result("replace.et59_busy", EP17, psn=1, code=1)
    s.meter.update("ET14", {f"device_{MEP_SLOT + 1}_occupied": 0,
                                  **{f"device_status[{MEP_SLOT}].{k}": 0 for k in (
                                      "device_handle", "device_status")}})
    s.meter.update("ET50", {"mep_inbound_configuration[0].mep_device_registered": 0})
    s.wait(1)
    s.result("replace.et59_done", EP17, psn=1, code=0)
    s.read("replace.et14_removed", "ET14")
    ident = b"MEPC-NEW-000342"
    s.meter.update("ET50", {"mep_inbound_configuration[0].identification_string": ident,
                                  "mep_inbound_configuration[0].mep_device_registered": 1})
    s.write("replace.et50_register", "ET50", s.meter.image("ET50")[:31], offset=0)
    s.meter.update("ET14", {f"device_{MEP_SLOT + 1}_occupied": 1,
                                  f"device_status[{MEP_SLOT}].device_handle": MEP_NEW,
                                  f"device_status[{MEP_SLOT}].device_status": 3})
    s.wait(2)
    s.read("replace.et14_new", "ET14", 6 + MEP_SLOT * 36, 36)


USE_CASES = (session_start, mbus_scheduled_reads, mbus_on_demand, historical_registers,
             load_profile, load_profile_alert, control_valve, delta_data_alerts,
             unbalanced_voltage, replace_client)


def build() -> Session:
    """Run every use case against a fresh meter."""
    s = Session()
    for case in USE_CASES:
        case(s)
        s.wait(2)
    return s


def write(path: Path) -> Session:
    s = build()
    with open(path, "wb") as f, PcapngWriter(f) as w:
        client = w.add_interface("client", "MEP client 1 TXD: requests (MEP guide chapter 3)")
        meter = w.add_interface("meter", "meter MEP port 1 TXD: responses and alerts")
        for t, direction, data, comments in s.records:
            w.write(client if direction == EPB_OUTBOUND else meter, t, data, direction, comments)
    return s


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    session = write(out)
    print(f"wrote {len(session.records)} packets ({len(session.steps)} steps) to {out}")
