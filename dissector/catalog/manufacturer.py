"""Manufacturer (extended) tables ETxx of the MEP guide, chapter 4.

ET13..ET16 are arrays of entries whose sizes ET11 publishes; an entry is
laid out with the guide's fields and padded (or cut) to that size.  Choices
made where the guide is unclear are listed in ``docs/guide-notes.md``.
"""

from __future__ import annotations

from .types import (
    Array,
    BitGroup,
    Bytes,
    Chars,
    Dim,
    LTimeDate,
    Record,
    Rest,
    TableSpec,
    bits,
    flag,
    int16,
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
# The first 73 bytes (through Neuron State); the rest stays raw for now.
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
        2: "Has application, unconfigured", 3: "Applicationless, unconfigured",
        4: "Configured, online", 6: "Hard offline", 12: "Configured, soft offline"}),
    Bytes("remainder", "Further fields (not decoded yet)", Rest()),
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

ET13 = TableSpec("ET13", "MEP/M-Bus Device Configuration", (
    Array("device_config", "Device Config", ET11_NBR_DEVICES, ET13_MEP_ENTRY,
          per_index=(ET13_MBUS_ENTRY,) * 4),
))

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

ET16_ENTRY = Record("billing_read", "MEP Billing Read (MBR)", (
    LTimeDate("timestamp", "Timestamp"),
    BitGroup(1, (
        flag("data_order", "Data Order (1 = Mode 2, MSB first)", 0),
        flag("response_type", "Response Type (1 = fixed data structure)", 1),
        flag("key_availability", "Key Availability", 2),
        bits("authentication", "Authentication", 3, 4, enum={0: "Passed", 1: "ID failure"}),
        flag("security_status", "Security Status", 5),
    )),
    uint8("telegram_length", "Length (L)", unit="bytes"),
    Bytes("telegram", "Telegram(s)", sub(ET11_DATA_ENTRY_SIZE, 8)),
), size=ET11_DATA_ENTRY_SIZE)

ET16 = TableSpec("ET16", "MEP/M-Bus Device Data", (
    Array("device_table", "Device Table", ET11_NBR_DEVICES, ET16_ENTRY),
))

# ------------------------------------------------------------- ET52/ET53
# Header and the end marker framing a list of length-prefixed C12.18
# messages; the list itself is decoded by the capture layer (it is frames).

_TXN_HEADER = (
    uint16("transaction_size", "Transaction Size (B)", unit="bytes"),
    uint8("transaction_type", "Transaction Type", enum={0: "Requests", 1: "Responses",
                                                        3: "Requests with group IDs"}),
    uint16("transaction_number", "Transaction Number"),
    Bytes("records", "Record list and closing transaction number", Rest()),
)

ET52 = TableSpec("ET52", "MEP Transaction Request", _TXN_HEADER)
ET53 = TableSpec("ET53", "MEP Transaction Response", _TXN_HEADER)

MANUFACTURER = (ET03, ET04, ET11, ET13, ET14, ET15, ET16, ET52, ET53)
