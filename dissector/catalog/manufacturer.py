"""Manufacturer (extended) tables ETxx of the MEP guide, chapter 4.

ET13..ET16 are arrays of entries whose sizes ET11 publishes; an entry is
laid out with the guide's fields and padded (or cut) to that size.  Choices
made where the guide is unclear are listed in ``docs/guide-notes.md``.
"""

from __future__ import annotations

from typing import Any

from ..codes import REQUEST_CODES, RESPONSE_CODES
from ..tables import TABLES, table_label
from .layout import Slot, layout
from .types import (
    Array,
    BitGroup,
    Bytes,
    Chars,
    Cmp,
    Count,
    Dim,
    Field,
    Local,
    LTimeDate,
    Record,
    Ref,
    Repeat,
    Set,
    TableSpec,
    When,
    add,
    bits,
    flag,
    int16,
    int32,
    ni_fmat1,
    sub,
    uint8,
    uint16,
    uint32,
)

# ET11 ("MFG Dimension Table") sizes ET13..ET16 and EP19; defaults are the
# guide's Value column (Gen 3 meter: 5 devices).
ET11_NBR_DEVICES = Dim("ET11", "nbr_devices", 5)
ET11_CONFIG_ENTRY_SIZE = Dim("ET11", "config_entry_size", 66)
ET11_STATUS_ENTRY_SIZE = Dim("ET11", "status_entry_size", 36)
ET11_QUEUE_SIZE = Dim("ET11", "on_demand_request_queue_size", 5)
ET11_REQUEST_ENTRY_SIZE = Dim("ET11", "on_demand_request_entry_size", 6)
ET11_DATA_ENTRY_SIZE = Dim("ET11", "data_entry_size", 517)
ET11_WRITE_ENTRY_SIZE = Dim("ET11", "on_demand_write_entry_size", 25)
ET11_MULTICAST_LENGTH = Dim("ET11", "mbus_multicast_message_length", 65)
ET11_MEP_DATA_SOURCES = Dim("ET11", "mep_data_sources", 6)
ET11_MODULE_RECORDS = Dim("ET11", "reserved_32", 6)
ET11_MODULE_RECORD_SIZE = Dim("ET11", "reserved_33", 7)
# Firmware 4.0+: two MEP clients, so ET50/ET51 hold two elements (older: 1).
ET11_MEP_CHANNEL_COUNT = Dim("ET11", "mep_channel_count", 2)
# ET11 values sizing tables of the other modules (ET34, ET57, ET71, ET61).
ET11_CONFIG_ENTRY_2_SIZE = Dim("ET11", "config_entry_2_size", 22)
ET11_ET57_ENTRY_COUNT = Dim("ET11", "et57_entry_count", 16)
ET11_MEP_DATA_ALERT_SOURCES = Dim("ET11", "mep_data_alert_sources", 10)
ET11_TIME_BASED_RELAY_SWITCHES = Dim("ET11", "time_based_relay_switches", 80)

# ET54 ("Meter Status", below) says which optional parts other tables carry.
# ET54.0.2 "Multiple Load Profile Data Set Support" (firmware 3.50+; the guide
# gives no value, the current firmware's case is the default): ET42 carries the
# multiple data set part, and the per-set arrays of the load profile tables have
# one element per set (four) instead of one.  It is the only scalar saying which
# (C12.19 would use BT00's tables-used set, which the capture context cannot learn).
ET54_MULTIPLE_LP_SETS = Dim("ET54", "multiple_load_profile_data_set_support", 1)
# ET54.0.7 "LCD Value ID Code 5 Digit Support": ET62/ET75's "X", 1 for Gen 4
# meters (5-character LCD ID codes), 0 otherwise (Value column: 1).
ET54_ID_CODE_5_DIGITS = Dim("ET54", "lcd_value_id_code_5_digit_support", 1)
# ET54.69 sizes ET74 ("Entry size is controlled by ET45"); 0 by default.
ET54_ET74_ENTRY_COUNT = Dim("ET54", "et74_entry_count", 0)
# ET54.80: how many entries the alternate event log ET79 holds (0: disabled, the default).
ET54_ET79_ENTRY_COUNT = Dim("ET54", "et79_entry_count", 0)

BAUD_RATES = {0: "9600 (default)", 1: "300", 2: "600", 3: "1200", 4: "2400", 5: "4800",
              6: "9600", 7: "14400", 8: "19200", 9: "28800", 10: "38400", 11: "57600",
              12: "115200"}

# ------------------------------------------------------------------- ET03
# Serial number at 0..29, reserved to 136, the image CRC (UINT16) at 137..138,
# reserved to 142: 143 bytes (the guide's "138..142" overlaps the CRC).
ET03 = TableSpec("ET03", "Utility Information", (
    Chars("utility_serial_number", "Utility Serial Number", 30),
    Bytes("reserved", "Reserved", 107),
    uint16("image_crc", "Image CRC (read only)", hex=True),
    Bytes("reserved_2", "Reserved", 4),
))

# ------------------------------------------------------------------- ET04
# 140 bytes on firmware 4.0+; offsets 123.. exist from 3.13/3.80 and 129.. from 4.0
# only, so older meters return a shorter table.
PLC_SIGNAL_QUALITY = {
    0: "No PLC traffic detected", 1: "PLC traffic, no packet addressed to this server",
    2: "Packet received, margin <= 9 dB", 3: "Packet received, margin 12 or 15 dB",
    4: "Packet received, margin >= 18 dB", 5: "Commissioned, inactive (last: margin <= 9 dB)",
    6: "Commissioned, inactive (last: margin 12 or 15 dB)",
    7: "Commissioned, inactive (last: margin >= 18 dB)"}

ET04 = TableSpec("ET04", "System Information", (
    uint32("sequence_number", "Sequence Number"),
    Bytes("transceiver_id", "Transceiver ID", 6),
    uint8("subnet_id", "Subnet ID"),
    uint8("node_id", "Node ID"),
    BitGroup(1, (
        flag("explicit_message_received", "Explicit Message Received", 0),
        flag("force_neuron_cnfg", "Force Neuron Cnfg", 1),
        flag("request_neuron_state", "Request Neuron State", 2),
        flag("disable_plc_encryption", "Disable PLC Encryption", 3),
        flag("disable_neuron_eeprom_lock", "Disable Neuron EEPROM Lock", 4),
        bits("neuron_phase", "Neuron Phase", 5, 7, enum={
            0: "No phase inversion", 1: "In phase normal", 2: "Plus 120° inverted",
            3: "Minus 120° normal", 4: "Phase 180° inverted", 5: "Plus 120° normal",
            6: "Minus 120° inverted", 7: "N/A"}),
    )),
    uint8("rated_frequency", "Rated Frequency", unit="Hz"),
    Bytes("program_id", "Program ID (Firmware Version ID)", 8),
    Bytes("self_identification", "Self-Identification", 30),
    uint8("pk_access", "PK Access", enum={0: "Enabled", 1: "Disabled"}),
    uint8("max_power_outages_recorded", "Max Power Outages Recorded"),
    uint8("unused", "Unused"),
    uint8("max_nbr_te_registers", "Max Nbr of TE Registers"),
    uint16("registration_current", "Registration Current", unit="mA"),
    uint16("max_current", "Max Current", unit="A"),
    uint16("rated_voltage", "Rated Voltage", unit="V"),
    BitGroup(1, (
        flag("inactive_voltage_l1", "Inactive Voltage Phase L1", 0),
        flag("inactive_voltage_l2", "Inactive Voltage Phase L2", 1),
        flag("inactive_voltage_l3", "Inactive Voltage Phase L3", 2),
        flag("separate_voltage_current_phases", "Separate Voltage and Current Inactive Phases",
             3),
        flag("inactive_current_l1", "Inactive Current Phase L1", 4),
        flag("inactive_current_l2", "Inactive Current Phase L2", 5),
        flag("inactive_current_l3", "Inactive Current Phase L3", 6),
    )),
    int16("dst_off_time_delta", "DST Off Time Delta", unit="min"),
    uint8("self_read_hour", "Self-Read Time Hour"),
    uint8("self_read_minute", "Self-Read Time Minute"),
    uint8("stop_mode_config", "Stop Mode Config", unit="days"),
    Bytes("mfg_status", "Mfg Status", 3),
    BitGroup(1, (
        flag("rk_bp10_ep16_access", "RK BP10 + EP16 Access (1 = disabled)", 0),
        flag("test_point", "Test Point", 1),
        flag("test_point_confirmed", "Test Point Confirmed", 2),
        flag("lp_use_skipped", "LP Use Skipped", 3),
    )),
    uint8("neuron_state", "Neuron State", enum={
        0: "Invalid state", 1: "Invalid state", 2: "Has application, unconfigured",
        3: "Applicationless, unconfigured", 4: "Configured, online", 5: "Invalid state",
        6: "Hard offline", 7: "Invalid state", 12: "Configured, soft offline",
        140: "Configured, in bypass mode", 255: "No reply from Neuron"}),
    uint8("phase_rotation_changed", "Phase Rotation Changed", enum={
        0: "L1L2L3", 1: "L3L2L1", 2: "Phase rotation unknown"}),
    uint16("plc_comm_inactive_time_threshold", "PLC Comm Inactive Time Threshold", unit="min"),
    LTimeDate("broadcast_receipt", "Broadcast Receipt"),
    uint32("broadcast_base", "Broadcast Base"),
    uint16("broadcast_delta", "Broadcast Delta"),
    uint16("reverse_energy_alarm_current_threshold", "Reverse Energy Alarm Current Threshold",
           unit="mA"),
    uint8("plc_signal_quality_status", "PLC Signal Quality Status", enum=PLC_SIGNAL_QUALITY),
    uint16("auto_discovery_ta", "Auto Discovery Ta", unit="bit times"),
    uint16("auto_discovery_to", "Auto Discovery To", unit="ms"),
    uint8("auto_discovery_disable", "Auto Discovery Disable"),
    int16("amplifier_gain_detect_sensitivity", "Amplifier Gain Detect Sensitivity"),
    uint16("events_outage_threshold", "Events Outage Threshold", unit="s"),
    uint16("nvm_size", "NVM Size", unit="KiB"),
    uint8("safe_image_locked", "Safe Image Locked"),
    uint32("mep_seq_nbr", "MEP Seq Nbr"),
    uint16("unused_107", "Unused"),
    uint8("premise_power_generation", "Premise Power Generation", enum={
        0: "Power generation off", 1: "Power generation on"}),
    uint8("power_outage_detection_threshold", "Power Outage Detection Threshold", unit="%"),
    uint8("phase_loss_threshold", "Phase Loss Threshold", unit="%"),
    uint8("meter_form", "Meter Form", enum={0: "Default (IEC-type measurements)",
                                            0x41: "A-base", 0x53: "S-base"}),
    uint8("clock_error_tier", "Clock Error Tier"),
    uint16("c12_19_compliance", "C12.19 Compliance", hex=True),
    uint8("idt_version", "IDT Version"),
    uint8("tilt_timer", "Tilt Timer", unit="s"),
    uint16("min_registration_current", "Minimum Registration Current", unit="mA"),
    uint8("registration_current_fraction", "Registration Current Fraction", unit="mA",
          scale=0.1),
    BitGroup(1, (
        flag("constant_phase_loss_alarm", "Constant Phase Loss Alarm", 0),
    )),
    uint8("power_up_wait_time", "Power Up Wait Time"),
    uint32("maximum_key_usage_count", "Maximum Key Usage Count"),
    uint8("security_mode", "Security Mode", enum={0: "RC4", 1: "Reserved",
                                                  2: "OSGP-AES-128-PSK"}),
    uint8("fcm_message_count", "FCM Message Count"),
    Array("mep_sequence_numbers", "MEP Sequence Numbers", 2,
          uint32("mep_sequence_number", "MEP Sequence Number")),
    uint8("reverse_energy_alarm_time_threshold_ms", "Reverse Energy Alarm Time Threshold",
          unit="ms"),
    uint16("reverse_energy_alarm_time_threshold_s", "Reverse Energy Alarm Time Threshold",
           unit="s"),
))

# ------------------------------------------------------------------- ET11

ET11 = TableSpec("ET11", "MFG Dimension Table", (
    uint8("nbr_devices", "Number of Devices"),
    uint8("config_entry_size", "Config Entry Size", unit="bytes"),
    uint8("status_entry_size", "Status Entry Size", unit="bytes"),
    uint8("on_demand_request_queue_size", "On-demand Request Queue Size"),
    uint8("on_demand_request_entry_size", "On-demand Request Entry Size", unit="bytes"),
    uint16("data_entry_size", "Data Entry Size", unit="bytes"),
    uint16("transaction_request_length", "Transaction Request Length", unit="bytes"),
    uint16("transaction_response_length", "Transaction Response Length", unit="bytes"),
    uint8("on_demand_write_entry_size", "On-demand Write Entry Size", unit="bytes"),
    uint8("phase_measurement_data_size", "Phase Measurement Data Size", unit="bytes"),
    uint8("config_entry_2_size", "Config Entry 2 Size", unit="bytes"),
    Bytes("reserved", "Reserved", 4),
    uint8("nbr_group_ids", "Number of Group IDs"),
    uint8("nbr_harmonics", "Number of Harmonics"),
    uint8("mbus_multicast_message_length", "M-Bus Multicast Message Length", unit="bytes"),
    uint8("et22_alarm_size", "ET22 Alarm Size", unit="bytes"),
    uint8("mep_data_sources", "MEP Data Sources"),
    uint8("et48_entry_count", "ET48 Entry Count"),
    uint8("max_critical_event_bitmaps", "Maximum Critical Event Bitmaps"),
    uint8("et57_entry_count", "ET57 Entry Count"),
    uint8("time_based_relay_switches", "Time-based Relay Switches"),
    uint8("mep_data_alert_sources", "MEP Data Alert Sources"),
    uint16("ram_only_transaction_request_length", "RAM-only Transaction Request Length",
           unit="bytes"),
    uint16("ram_only_transaction_response_length", "RAM-only Transaction Response Length",
           unit="bytes"),
    uint8("reserved_32", "Reserved"),
    uint8("reserved_33", "Reserved"),
    uint8("mep_channel_count", "MEP Channel Count"),
    uint8("reserved_35", "Reserved"),
    uint16("reserved_36", "Reserved"),
    uint8("error_caution_screen_count", "Error/Caution Screen Count"),
))

# ------------------------------------------------------------------- ET13

_ET13_COMMON = (
    uint8("day", "Scheduled Billing Read Day", enum={
        0: "First day of month", 32: "Sunday", 33: "Monday", 34: "Tuesday", 35: "Wednesday",
        36: "Thursday", 37: "Friday", 38: "Saturday", 39: "Disabled"}),
    uint8("hour", "Scheduled Billing Read Hour"),
    uint8("minute", "Scheduled Billing Read Minute"),
    uint8("scheduled_billing_read_frequency", "Scheduled Billing Read Frequency", enum={
        0: "Hourly", 1: "Daily", 2: "Weekly", 3: "Monthly", 4: "Never"}),
    uint16("scheduled_status_read_frequency", "Scheduled Status Read Frequency", unit="min"),
    uint8("baud_rate", "Baud Rate", enum=BAUD_RATES),
    uint8("device_alarm_bitmask", "Device Alarm Bitmask", hex=True),
)

ET13_MBUS_ENTRY = Record("mbus", "M-Bus device configuration", (
    *_ET13_COMMON,
    Chars("customer_id", "Customer ID", 20),
    uint8("app_reset_parameter", "App Reset Parameter"),
    uint8("security_key_length", "Security Key Length", unit="bytes"),
    Bytes("security_key", "Security Key", 32),
    uint16("ta", "Ta (turn-around extension)", unit="bit times"),
    uint16("to", "To (turn-around extension)", unit="ms"),
), size=ET11_CONFIG_ENTRY_SIZE)

ET13_MEP_ENTRY = Record("mep", "MEP client configuration", (
    *_ET13_COMMON,
    BitGroup(1, (
        flag("scheduled_read_request_alert", "Scheduled Read Request Alert", 0),
        flag("on_demand_request_in_et15", "On-demand Request in ET15", 1),
        flag("reserved", "Reserved", 2),
        flag("mbus_change", "M-Bus Change", 3),
        flag("delta_data_alert", "Delta Data Alert", 4),
    )),
    Bytes("non_urgent_downlink_data", "MEP Non-urgent Downlink Data",
          sub(ET11_CONFIG_ENTRY_SIZE, 9)),
), size=ET11_CONFIG_ENTRY_SIZE)

MEP_SLOT = 4
"""ET13/ET14 element of the (first) MEP client: elements 0..3 are the M-Bus devices."""

ET13 = TableSpec("ET13", "MEP/M-Bus Device Configuration", (
    Array("device_config", "Device Config", ET11_NBR_DEVICES, ET13_MEP_ENTRY,
          per_index=(ET13_MBUS_ENTRY,) * MEP_SLOT),
))

ALERT_FLAGS = ("scheduled_read_request_alert", "on_demand_request_in_et15", "mbus_change",
               "delta_data_alert")
"""The alert flags of the MEP client's ET13 entry."""


def alert_flag_slots(dims: Any = None) -> list[Slot]:
    """Where the MEP client's ET13 alert flags sit under ``dims``, in ALERT_FLAGS order."""
    paths = {f"device_config[{MEP_SLOT}].{name}": name for name in ALERT_FLAGS}
    found = {paths[s.path]: s for s in layout(ET13, dims) if s.path in paths}
    return [found[name] for name in ALERT_FLAGS]

# ------------------------------------------------------------------- ET14

DEVICE_STATUS = {0: "Empty slot", 1: "M-Bus device up", 2: "M-Bus device down",
                 3: "MEP client up", 4: "MEP client down"}

ET14_ENTRY = Record("status", "M-Bus/MEP status entry", (
    uint16("device_handle", "Device Handle", hex=True),
    uint8("device_status", "Device Status", enum=DEVICE_STATUS),
    uint8("baud_rate", "Baud Rate", enum=BAUD_RATES),
    uint16("billing_read_length", "Billing Read Length", unit="bytes"),
    uint32("read_attempts", "Read Attempts"),
    uint32("read_answers", "Read Answers"),
    BitGroup(2, (
        flag("billing_data_collected", "Billing Data Collected", 0),
        flag("app_error_response_rcvd", "App Error Response Rcvd", 1),
        flag("new_device_alarm", "New Device Alarm", 2),
        flag("billing_read_overflow", "Billing Read Overflow", 3),
        flag("failed_comms_on_read", "Failed Comms On Read", 4),
        flag("serial_number_mismatch", "Serial Number Mismatch", 5),
        flag("mep_firmware_switchover_success", "MEP Firmware Switchover Success", 6),
        flag("mep_firmware_switchover_failure", "MEP Firmware Switchover Failure", 7),
    )),
    uint8("mbus_application_primary_address", "M-Bus Application Primary Address"),
    LTimeDate("reserved", "Reserved"),
    uint8("mep_device_alarms", "MEP Device Alarms", hex=True),
    LTimeDate("status_read_timestamp", "Status Read Timestamp"),
    LTimeDate("last_read_attempt", "Last Read Attempt"),
), size=ET11_STATUS_ENTRY_SIZE)

ET14 = TableSpec("ET14", "MEP/M-Bus Device Status", (
    BitGroup(1, (bits("mode", "Mode", 0, 0, enum={0: "Normal polling",
                                                   1: "Auto-discovery"}),)),
    uint32("reserved", "Reserved"),
    BitGroup(1, tuple(flag(f"device_{i + 1}_occupied", f"Device {i + 1} slot occupied", i)
                      for i in range(8))),
    Array("device_status", "M-Bus/MEP Status", ET11_NBR_DEVICES, ET14_ENTRY),
))

# ------------------------------------------------------------------- ET15

ON_DEMAND_REQUEST_TYPES = {
    0: "No entry", 1: "M-Bus application reset", 2: "Billing read", 3: "Status read",
    4: "Write data", 5: "Time sync", 6: "Multicast / broadcast", 7: "MEP download start",
    8: "MEP download code packet", 9: "MEP download switchover",
}

ET15 = TableSpec("ET15", "MEP/M-Bus On-demand Requests", (
    BitGroup(1, (
        bits("write_pointer", "Write pointer", 0, 3),
        bits("read_pointer", "Read pointer", 4, 7),
    )),
    Array("request_queue", "Request Queue", ET11_QUEUE_SIZE, Record("request", "Request", (
        uint16("transaction_nbr", "Transaction Nbr", hex=True),
        uint16("device_handle", "Device Handle or Group Mask", hex=True),
        uint8("request_type", "Request Type", enum=ON_DEMAND_REQUEST_TYPES),
        uint8("result", "Result", enum={0: "Not yet complete", 1: "Success",
                                         2: "No response from device", 3: "Failed"}),
    ), size=ET11_REQUEST_ENTRY_SIZE)),
    Array("write_messages", "Write Messages", ET11_QUEUE_SIZE, Record("write", "Write", (
        uint8("write_data_length", "Write Data Length", unit="bytes"),
        Bytes("write_data", "Write Data", sub(ET11_WRITE_ENTRY_SIZE, 1)),
    ), size=ET11_WRITE_ENTRY_SIZE)),
    uint8("multicast_data_length", "Multicast Data Length", unit="bytes"),
    Bytes("multicast_data", "Multicast Data Message", sub(ET11_MULTICAST_LENGTH, 1)),
))

# ------------------------------------------------------------------- ET16

MBUS_MEDIUM = {0: "Other", 1: "Oil", 2: "Electricity", 3: "Gas", 4: "Heat (outlet)",
               5: "Steam", 6: "Hot water", 7: "Water", 8: "Heat cost allocator",
               9: "Compressed air", 10: "Cooling (outlet)", 11: "Cooling (inlet)",
               12: "Heat (inlet)", 13: "Heat / cooling", 14: "Bus / system", 15: "Unknown",
               0x16: "Cold water", 0x17: "Dual water", 0x18: "Pressure", 0x19: "A/D converter"}
"""M-Bus medium codes (EN 13757-3); the guide names 3, 4, 6 and 7."""

TELEGRAM_LENGTH = Local("telegram_length", 0)
"""The MBR's Length (L): the first telegram's size, terminator included."""

_STATUS_ALARMS = (
    flag("power_low", "Power low", 2),
    flag("permanent_error", "Permanent error", 3),
    flag("temporary_error", "Temporary error", 4),
    bits("mfg_specific", "Manufacturer specific", 5, 7),
)
_SERIAL = uint32("serial_nbr", "Serial Nbr (packed BCD, shown as hex digits)", hex=True)

# CI=0x72 ("variable data structure"): the 12-byte header, data records, a zero byte
_VARIABLE_HEADER = (
    _SERIAL,
    uint16("mfg_id", "Mfg ID (3 letters, 5 bits each: A = 1)", hex=True),
    uint8("version", "Version"),
    uint8("medium", "Medium", enum=MBUS_MEDIUM),
    uint8("access_number", "Access Number"),
    BitGroup(1, (
        bits("application_status", "Application status", 0, 1, enum={
            0: "No error", 1: "Application busy", 2: "Any application error", 3: "Reserved"}),
        *_STATUS_ALARMS,
    )),
    uint16("signature", "Signature", hex=True),
    Bytes("data_records", "Tel. Data Records", sub(TELEGRAM_LENGTH, 13)),
    uint8("terminator", "Zero terminator"),
)
# CI=0x73 ("fixed data structure"): serial, access number, status, then the counters
_FIXED_HEADER = (
    _SERIAL,
    uint8("access_number", "Access Number"),
    BitGroup(1, (
        flag("counters_binary", "Counters coded signed binary (0 = BCD)", 0),
        flag("counters_fixed_date", "Counters stored at fixed date (0 = actual)", 1),
        *_STATUS_ALARMS,
    )),
    Bytes("fixed_data", "Fixed data (medium, units, counters)", sub(TELEGRAM_LENGTH, 6)),
)


MBR_HEADER_SIZE = 8
"""Timestamp, response info and telegram length in front of the telegram bytes."""


def mbr_fields(further: Count) -> tuple[Field, ...]:
    """A MEP Billing Read (ET16 entries, the data of ET45/ET74 entries): header,
    the first telegram (L bytes, its header laid out by Response Type) and
    ``further`` bytes of further telegrams.

    The telegram's data records (DIF/VIF coded, EN 13757-3) stay bytes: the
    guides do not describe them.
    """
    return (
        LTimeDate("timestamp", "Timestamp"),
        BitGroup(1, (
            flag("data_order", "Data Order (1 = Mode 2, MSB first)", 0),
            flag("response_type", "Response Type (1 = fixed data structure)", 1),
            flag("key_availability", "Key Availability", 2),
            bits("authentication", "Authentication", 3, 4, enum={
                0: "Passed", 1: "ID failure", 2: "Date failure",
                3: "Passed with alternate date"}),
            flag("security_status", "Security Status (1 = failed)", 5),
        )),
        uint8("telegram_length", "Length (L)", unit="bytes"),
        Record("telegram", "Telegram", (
            When(Cmp(Local("response_type", 0), "==", 0), _VARIABLE_HEADER,
                 otherwise=_FIXED_HEADER),
        ), size=TELEGRAM_LENGTH),
        Bytes("further_telegrams", "Further telegrams", further),
    )


ET16_ENTRY = Record("billing_read", "MEP Billing Read (MBR)",
                    mbr_fields(sub(ET11_DATA_ENTRY_SIZE, add(MBR_HEADER_SIZE, TELEGRAM_LENGTH))),
                    size=ET11_DATA_ENTRY_SIZE)

ET16 = TableSpec("ET16", "MEP/M-Bus Device Data", (
    Array("device_table", "Device Table", ET11_NBR_DEVICES, ET16_ENTRY),
))

# ------------------------------------------------------------------- ET50
# One element per MEP client (ET11.34); the guide prints element 0's offsets.

ICON_DISPLAY = {0: "Off", 1: "On", 2: "Flash (1 s on, 1 s off)"}
DATA_SOURCE_ICONS = {0: "Euro", 1: "Dollar", 2: "Date", 3: "Time", 4: "kvarh", 5: "kWh",
                     6: "kvar", 7: "kW", 8: "Negative (-)"}

ET50_ENTRY = Record("inbound", "MEP inbound configuration", (
    Bytes("identification_string", "Identification String (MEP ID)", 30),
    BitGroup(1, (
        flag("mep_device_registered", "MEP Device Registered", 0),
        flag("et59_response", "ET59 Response", 1),
        flag("mbus_alerts", "M-Bus Alerts", 2),
        flag("delta_data_alerts", "Delta Data Alerts", 3),
    )),
    Array("data_sources_icon_display_control", "Data Sources Icon Display Control",
          ET11_MEP_DATA_SOURCES,
          Set("icons", "Icons", 2, flags=DATA_SOURCE_ICONS)),
    Array("data_for_display_lp_sources", "Data For Display/Load Profile Sources",
          ET11_MEP_DATA_SOURCES, ni_fmat1("data", "Data")),
    BitGroup(1, (
        bits("house_icon", "House Icon", 0, 3, enum=ICON_DISPLAY),
        bits("short_bar", "Short Bar", 4, 7, enum=ICON_DISPLAY),
    )),
    BitGroup(1, (
        bits("medium_bar", "Medium Bar", 0, 3, enum=ICON_DISPLAY),
        bits("long_bar", "Long Bar", 4, 7, enum=ICON_DISPLAY),
    )),
    uint16("reserved", "Reserved"),
))

ET50 = TableSpec("ET50", "MEP Inbound Data Space", (
    Array("mep_inbound_configuration", "MEP Inbound Configuration", ET11_MEP_CHANNEL_COUNT,
          ET50_ENTRY),
))

# ------------------------------------------------------------------- ET51

ET51_ENTRY = Record("device", "MEP device configuration", (
    BitGroup(1, (
        flag("enable_optical_dos_timer", "Enable Optical D.O.S. Timer", 0),
        flag("monitor_mep_health", "Monitor MEP Health", 1),
        flag("reset_device_down_mep", "Reset Device Down MEP", 2),
        flag("reset_mep_now", "Reset MEP Now", 3),
        flag("disable_mep", "Disable MEP", 7),
    )),
    uint16("mep_health_timeout", "MEP Health Timeout", unit="s"),
    uint8("on_demand_and_one_time_read_timeout", "On-demand and One-Time Read Timeout",
          unit="s"),
    uint16("optical_session_timeout", "Optical Session Timeout", unit="s"),
    uint16("optical_session_hold_off", "Optical Session Hold-Off", unit="s"),
    uint8("mep_down_reset_duration", "MEP Down Reset Duration", unit="s"),
    BitGroup(1, (
        flag("deactivate_han", "Deactivate HAN", 0),
    )),
))

ET51 = TableSpec("ET51", "MEP Device Configuration", (
    Array("mep_device_configuration", "MEP Device Configuration", ET11_MEP_CHANNEL_COUNT,
          ET51_ENTRY),
))

# ------------------------------------------------------------- ET52/ET53
# A transaction: size B (counting every byte from offset 0), type, number,
# for group broadcasts a group list, then records {UINT16 length, message}
# up to B-2, where the transaction number is repeated; the rest of the
# table (ET11's transaction request/response lengths, 769 / 1785) is
# unused.  The messages are C12.18 requests (ET52) or responses (ET53)
# without sequence number or digest, their table id, offset and count most
# significant byte first like the frames.

ET52_SIZE = Dim("ET11", "transaction_request_length", 769)
ET53_SIZE = Dim("ET11", "transaction_response_length", 1785)
_EMPTY_TRANSACTION = 7
"""Header (5) and closing number (2): the size assumed before the data says."""

TRANSACTION_TYPES = {
    0: "Requests", 1: "Responses",
    2: "Responses - partial (not all fit, or an invalid length ended them)",
    3: "Group broadcast request", 4: "Group broadcast request denied",
}
_TABLE_NAMES = {tid: table_label(tid) for tid in TABLES}


def _msb(size: int, name: str, label: str, **kw) -> BitGroup:
    """A C12.18 integer inside a message: most significant byte first."""
    return BitGroup(size, (bits(name, label, 0, 8 * size - 1, **kw),), msb_first=True)


_TABLE_ID = _msb(2, "table_id", "Table ID", enum=_TABLE_NAMES)
_OFFSET = _msb(3, "offset", "Offset", unit="bytes")
_COUNT = _msb(2, "count", "Count", unit="bytes")
_DATA = Bytes("data", "Table data", Local("count", 0))


def _when_code(code: int, *fields) -> When:
    return When(Cmp(Local("code", 0), "==", code), fields)


_REQUEST = Record("message", "Request", (
    uint8("code", "Request code", enum=REQUEST_CODES, hex=True),
    _when_code(0x30, _TABLE_ID),
    _when_code(0x3F, _TABLE_ID, _OFFSET, _COUNT),
    _when_code(0x40, _TABLE_ID, _COUNT, _DATA),
    _when_code(0x4F, _TABLE_ID, _OFFSET, _COUNT, _DATA),
), size=Local("length", 0))

_RESPONSE = Record("message", "Response", (
    uint8("code", "Response code", enum=RESPONSE_CODES, hex=True),
    # an OK answer to a read carries count and data; other answers are the code alone
    When(Cmp(Local("length", 0), ">", 1), (_COUNT, _DATA)),
), size=Local("length", 0))


def _transaction(message: Record, table_size: Dim) -> tuple:
    size = Ref("transaction_size", _EMPTY_TRANSACTION)
    return (
        uint16("transaction_size", "Transaction Size (B)", unit="bytes"),
        uint8("transaction_type", "Transaction Type", enum=TRANSACTION_TYPES),
        uint16("transaction_number", "Transaction Number"),
        When(Cmp(Ref("transaction_type", 0), "==", 3), (
            uint8("group_id_count", "Group ID Count"),
            Array("group_ids", "Group ID List", Ref("group_id_count", 0),
                  uint16("group_id", "Group ID", hex=True)),
        )),
        Repeat("records", "Record List", Record("record", "Record", (
            uint16("length", "Length", unit="bytes"),
            message,
        )), sub(size, 2)),
        uint16("closing_transaction_number", "Transaction Number (repeated)"),
        Bytes("unused", "Unused", sub(table_size, size)),
    )


ET52 = TableSpec("ET52", "MEP Transaction Request Table", _transaction(_REQUEST, ET52_SIZE))
ET53 = TableSpec("ET53", "MEP Transaction Response Table", _transaction(_RESPONSE, ET53_SIZE))

# ------------------------------------------------------------------- ET54
# Firmware 4.0+ layout: from offset 91 a module-record array (ET11.32 records
# of ET11.33 bytes) moves the later fields; older meters end after offset 90.

RELAY_PENDING = {0: "No randomized operation pending", 1: "Randomized operation pending"}
MEP_CHANNELS = {0: "None", 1: "MEP client 1 (MEP1)", 2: "MEP client 2 (MEP2)"}

ET54 = TableSpec("ET54", "Meter Status", (
    BitGroup(2, (
        flag("multiple_load_profile_data_set_support", "Multiple Load Profile Data Set Support",
             2),
        flag("energy_unit_change", "Energy Unit Change", 6),
        flag("lcd_value_id_code_5_digit_support", "LCD Value ID Code 5 Digit Support", 7),
        flag("multiple_mep_clients", "Multiple MEP Clients", 8),
    )),
    Bytes("reserved", "Reserved", 17),
    BitGroup(2, (
        flag("load_profile_disabled", "Load Profile Disabled", 0),
    )),
    Bytes("reserved_21", "Reserved", 23),
    BitGroup(1, (
        flag("over_power_threshold_exceeded", "Tier Drive: Over Power Threshold Exceeded", 0),
        flag("step_tariff_in_use", "Tier Drive: Step Tariff In Use", 1),
    )),
    Bytes("reserved_45", "Reserved", 17),
    uint8("control_relay_1_random_operation_pending", "Control Relay 1 Random Operation Pending",
          enum=RELAY_PENDING),
    uint16("control_relay_1_random_duration", "Control Relay 1 Random Duration", unit="s"),
    uint16("control_relay_1_random_start_duration", "Control Relay 1 Random Start Duration",
           unit="s"),
    uint8("reserved_67", "Reserved"),
    uint8("mis_wiring_reason", "Mis-wiring Reason", enum={
        0: "No mis-wiring", 1: "Low voltage detected on a phase",
        2: "High voltage detected on a phase", 4: "Two or more phases in phase"}),
    uint16("et74_entry_count", "ET74 Entry Count"),
    BitGroup(1, (
        flag("welmec_11_2_compliance", "Welmec 11.2 Compliance", 0),
        bits("delta_time_synchronization_status",
             "Delta Time Synchronization Status in Current Load Profile Interval", 1, 2, enum={
                 0: "No synchronization in current interval", 1: "Synchronization ongoing",
                 2: "Synchronization done"}),
        flag("disconnect_push_button_close_temporarily_locked",
             "Disconnect Push Button Close Temporarily Locked", 6),
    )),
    int32("time_adjustment_in_current_lp_interval",
          "Time Adjustment In Current Load Profile Interval", unit="s"),
    Record("date_last_step_tariff_reset", "Date Last Step Tariff Reset", (
        uint8("year", "Year"),
        uint8("month", "Month"),
        uint8("day", "Day"),
    )),
    uint8("et77_entry_count", "ET77 Entry Count"),
    uint16("et79_entry_count", "ET79 Entry Count"),
    uint32("unicast_key_usage_count", "Unicast Key Usage Count"),
    uint32("broadcast_key_usage_count", "Broadcast Key Usage Count"),
    BitGroup(1, (
        flag("security_mode_rc4", "Supported Security Modes: RC4", 0),
        flag("security_mode_osgp_aes_128_psk", "Supported Security Modes: OSGP-AES-128-PSK", 2),
    )),
    Array("module_records", "Module Records (internal)", ET11_MODULE_RECORDS,
          Bytes("module_record", "Module Record", ET11_MODULE_RECORD_SIZE)),
    Bytes("reserved_after_modules", "Reserved", 4),
    uint16("external_tamper_input_raw_adc", "External Tamper Input Raw ADC"),
    uint8("mep_tx_locked", "MEP TX Locked"),
    uint8("mep_tx_lock_channel", "MEP TX Lock Channel", enum=MEP_CHANNELS),
    BitGroup(4, (
        bits("procedure_extended_failure_code", "Procedure Extended Failure Code: Failure Code",
             0, 15),
        bits("procedure_extended_failure_procedure",
             "Procedure Extended Failure Code: Procedure Number", 16, 31),
    )),
    uint8("control_relay_2_random_operation_pending", "Control Relay 2 Random Operation Pending",
          enum=RELAY_PENDING),
    uint16("control_relay_2_random_duration", "Control Relay 2 Random Duration", unit="s"),
    uint16("control_relay_2_random_start_duration", "Control Relay 2 Random Start Duration",
           unit="s"),
))

# ------------------------------------------------------------------- ET58

ET58 = TableSpec("ET58", "M-Bus/MEP Status Extension", (
    Array("device_status", "Device Status", ET11_NBR_DEVICES, Record("status", "MEPStatus", (
        uint8("control_status", "Control Status"),
        Bytes("reserved", "Reserved", 19),
    ))),
))

# ------------------------------------------------------------------- ET70
# Firmware 4.0+ only (on 3.x the whole table is reserved).

ET70 = TableSpec("ET70", "RAM Only Status", (
    Bytes("reserved", "Reserved", 142),
    uint8("current_comm_channel_index", "Current Comm Channel Index", enum={
        1: "MEP client 1 (MEP1)", 2: "MEP client 2 (MEP2)"}),
    Bytes("reserved_143", "Reserved", 13),
))

MANUFACTURER = (ET03, ET04, ET11, ET13, ET14, ET15, ET16, ET50, ET51, ET52, ET53, ET54,
                ET58, ET70)
