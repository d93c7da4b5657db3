"""Power quality and LN tables of the MEP guide, chapter 4: ET09, ET89, ET90, ET97.

ET09's power outage list is sized by ET04 ("Max Power Outages Recorded"),
ET97's FTz message array by ET90 and ET89's pending security events by two
ET90 bytes the guide cites (MT90.25/26) but does not list.  Fields added by
later firmware sit at the end of each table, so older meters return a
shorter table (reported as such on a full read).  Choices made where the
guide is unclear are listed in ``docs/guide-notes.md``.
"""

from __future__ import annotations

from .types import (
    Array,
    BitGroup,
    Bytes,
    Dim,
    LTimeDate,
    Record,
    TableSpec,
    bits,
    flag,
    int32,
    ni_fmat1,
    uint8,
    uint16,
    uint32,
)

# ------------------------------------------------------------ dimensions

ET04_MAX_POWER_OUTAGES = Dim("ET04", "max_power_outages_recorded", 10)
ET90_NBR_FTZ_MESSAGES = Dim("ET90", "nbr_ftz_messages", 3)
# ET89 cites MT90.25 (count) and MT90.26 (entry size) for its pending security
# events; ET90's listing stops at offset 19.  Defaults: the one 8-byte entry
# (four UINT16) whose offsets ET89 prints.
ET90_NBR_PENDING_SECURITY_EVENTS = Dim("ET90", "nbr_pending_security_events", 1)
ET90_PENDING_SECURITY_EVENT_SIZE = Dim("ET90", "pending_security_event_entry_size", 8)

PHASES = ("l1", "l2", "l3")

# ------------------------------------------------------------------- ET09


def _per_phase(kind: str, label: str) -> tuple:
    """``Lx Most Recent <label> Event`` (LTIME_DATE) and ``Lx <label> Events`` (UINT16)."""
    out = []
    for p in PHASES:
        out.append(LTimeDate(f"{p}_most_recent_{kind}_event",
                             f"{p.upper()} Most Recent {label} Event"))
        out.append(uint16(f"{p}_{kind}_events", f"{p.upper()} {label} Events"))
    return tuple(out)


def _voltages(kind: str, label: str) -> tuple:
    return tuple(ni_fmat1(f"{p}_most_recent_{kind}_voltage",
                          f"{p.upper()} Most Recent {label} Voltage", unit="mV")
                 for p in PHASES)


POWER_OUTAGE_RECORD = Record("power_outage_record", "Power Outage Record", (
    LTimeDate("power_on_date_time", "Power-on Date/Time"),
    uint8("reset_cause", "Reset Cause", enum={3: "Power failure", 8: "Brown-out"}),
    uint8("reserved_for_internal_use", "Reserved For Internal Use"),
    LTimeDate("power_off_date_time", "Power-off Date/Time"),
    uint32("power_off_duration", "Power Off Duration", unit="s"),
))

# The guide calls each of the three THD event records "22-byte" but lists 18
# bytes of fields (151..168); the 70-byte THD record and A = ET04.53*18 + 357
# only add up with 22, so the last 4 bytes of each are left as filler.
THD_EVENT_RECORD = Record("thd_event_record", "THD Event Record", (
    uint16("event_count", "Event Count"),
    LTimeDate("event_timestamp", "Event Timestamp"),
    uint16("max_thd", "Max THD"),
    LTimeDate("max_thd_timestamp", "Max THD Timestamp"),
    uint16("average_thd", "Average THD"),
), size=22)

# "THD Time Threshold" reads "resolution of 10 seconds" yet "minimum value is
# 10 seconds": the value is taken in seconds, as the second sentence implies.
THD_RECORD = Record("thd_record", "THD Record", (
    uint16("thd_time_threshold", "THD Time Threshold", unit="s"),
    uint16("thd_threshold", "THD Threshold", unit="%", scale=0.1),
    Array("thd_event_records", "THD Event Record", 3, THD_EVENT_RECORD,
          desc="One record per phase, L1..L3."),
), size=70)

DRP_DRC_EVENT_RECORD = Record("drp_drc_event_record", "DRP/DRC Event Record", (
    uint16("drp", "DRP", unit="%", scale=0.1),
    uint16("drc", "DRC", unit="%", scale=0.1),
    LTimeDate("time_stamp", "Time Stamp"),
))

ET09 = TableSpec("ET09", "Power Quality", (
    uint16("long_outage_duration_threshold", "Long Outage Duration Threshold", unit="s"),
    uint8("sag1_surge_time_threshold", "Sag1/Surge Time Threshold", unit="min"),
    uint8("sag1_threshold", "Sag1 Threshold", unit="%"),
    uint8("surge_threshold", "Surge Threshold", unit="%"),
    uint8("over_current_threshold", "Over-Current Threshold", unit="%"),
    Array("power_outage_records", "Power Outage Record", ET04_MAX_POWER_OUTAGES,
          POWER_OUTAGE_RECORD, desc="Most recent power cycles first."),
    # From here the guide's offsets are ET04.53*18 + n.
    *_per_phase("sag1", "Sag1"),
    *_per_phase("surge", "Surge"),
    int32("min_frequency", "Min Frequency", unit="mHz"),
    LTimeDate("min_freq_date_time", "Min Freq Date/Time"),
    int32("max_frequency", "Max Frequency", unit="mHz"),
    LTimeDate("max_freq_date_time", "Max Freq Date/Time"),
    *(uint32(f"{p}_over_current_events", f"{p.upper()} Over-current Events") for p in PHASES),
    BitGroup(1, tuple(flag(f"phase_{p}_loss", f"Phase {p.upper()} Loss", i)
                      for i, p in enumerate(PHASES))),
    *_per_phase("phase_loss", "Phase Loss"),
    *_voltages("sag1", "Sag1"),
    *_voltages("surge", "Surge"),
    uint32("short_outage_count", "Short Outage Count"),
    # firmware 2.12+
    uint32("pq_configuration_id", "PQ Configuration ID", hex=True),
    uint8("sag1_surge_threshold_seconds", "Sag1/Surge Threshold Seconds", unit="s"),
    # firmware 3.10+
    uint8("power_up_quality_hold_time", "Power Up Quality Hold Time", unit="s"),
    uint16("over_current_time_threshold", "Over Current Time Threshold", unit="s"),
    Array("thd_records", "THD Record", 3, THD_RECORD,
          desc="Voltage (V-THD), current (I-THD) and VA (VA-THD) distortion."),
    # firmware 3.70+: the guide's A = ET04.53*18 + 357
    Array("drp_drc_event_records", "DRP/DRC Event Record", 12, DRP_DRC_EVENT_RECORD),
    # firmware 4.10+: A + 10*12 + n
    uint16("sag2_time_threshold", "Sag2 Time Threshold", unit="s"),
    uint8("sag2_threshold", "Sag2 Threshold", unit="%"),
    *_per_phase("sag2", "Sag2"),
    *_voltages("sag2", "Sag2"),
    uint16("average_current_calculation_interval", "Average Current Calculation Interval",
           unit="s"),
    # firmware 4.21+: "Options"
    BitGroup(1, (flag("early_sag_surge_event", "Early Sag/Surge Event", 0),)),
))

# ------------------------------------------------------------------- ET89

OP_MODES = {0: "Maintenance", 1: "Locked", 2: "Remote", 3: "Local"}
RELAY_STATES = {0: "Open", 1: "Closed", 2: "Unknown"}


def _mode_word(prefix: str, label: str, remaining: str, remaining_label: str) -> BitGroup:
    """One UINT32 of a relay's mode: seconds left, no-expire flag, state (bits 22..31 reserved)."""
    return BitGroup(4, (
        bits(remaining, remaining_label, 0, 18, unit="s"),
        flag(f"{prefix}_no_expire", f"{label} no expire", 19),
        bits(f"{prefix}_state", f"{label} State", 20, 21, enum=RELAY_STATES),
    ))


# "Array[2]" of 17 bytes from 75: element 1 ends at 108, where Image
# Validation Key IDs start (109), so the printed offsets are element 0's.
RELAY_MODE = Record("relay", "Relay operation mode", (
    BitGroup(1, (bits("current_op_mode", "Current Op Mode", 0, 2, enum=OP_MODES),)),
    _mode_word("maintenance", "Maintenance", "maintenance_time_remaining",
               "Maintenance Time Remaining"),
    _mode_word("locked", "Locked", "time_remaining_in_locked_state",
               "Time remaining in locked state"),
    _mode_word("remote", "Remote", "time_remaining_in_remote_state",
               "Time remaining in remote state"),
    _mode_word("local", "Local", "time_remaining_in_local_state",
               "Time remaining in local state"),
))

VALIDATION_ERRORS = {
    0: "No error", 1: "Image not signed", 2: "Key ID not defined", 3: "Key invalidated",
    16: "Invalid signature", 17: "Invalid signature length", 18: "Invalid signature data",
    32: "Invalid public key format", 33: "Invalid key EC point", 240: "Unknown error",
}

SESSION_STATES = {0: "No session", 1: "RC4 (unencrypted)", 2: "RC4 encrypted",
                  3: "C12.18 (unencrypted)", 4: "TLS"}

PENDING_SECURITY_EVENT = Record("pending_security_event", "Pending Security Event Details", (
    uint16("alarm_id", "Alarm ID", hex=True),
    uint16("argument", "Argument"),
    uint16("count", "Count"),
    uint16("minutes_to_report", "Minutes to report", unit="min"),
), size=ET90_PENDING_SECURITY_EVENT_SIZE)

TLS_PORT_STATUS = Record("tls_port_status", "TLS Port Status", (
    BitGroup(1, (
        bits("session_state", "Session State", 0, 2, enum=SESSION_STATES),
        bits("tls_state", "TLS State", 3, 7),
    )),
    uint16("tls_error", "TLS Error"),
    uint16("tls_error_count", "TLS Error Count"),
))

ET89 = TableSpec("ET89", "Meter LN Status", (
    uint16("prior_mep_1_handle", "Prior MEP 1 Handle", hex=True),
    Bytes("prior_mep_1_id", "Prior MEP 1 ID", 30),
    uint8("mep_1_reregister_requests", "MEP 1 re-register requests"),
    uint8("mep_1_reregister_allowed", "MEP 1 re-register allowed"),
    uint16("prior_mep_2_handle", "Prior MEP 2 Handle", hex=True),
    Bytes("prior_mep_2_id", "Prior MEP 2 ID", 30),
    uint8("mep_2_reregister_requests", "MEP 2 re-register requests"),
    uint8("mep_2_reregister_allowed", "MEP 2 re-register allowed"),
    # firmware 4.50+
    LTimeDate("last_h1_telegram_time", "Last H1 Telegram Time"),
    # "Status Flags 0": the guide's filler "BOOL(1..7)" overlaps PLC Disabled
    # (BOOL(1)); the filler is read as bits 2..7.
    BitGroup(1, (
        flag("h1_device_present", "H1 Device Present", 0),
        flag("plc_disabled", "PLC Disabled", 1),
    )),
    Array("relays", "Relay operation modes", 2, RELAY_MODE),
    Array("image_validation_key_ids", "Image Validation Key IDs", 2,
          uint16("image_validation_key_id", "Image Validation Key ID", hex=True)),
    BitGroup(1, (
        flag("key_0_invalidated", "Key Status: key index 0 invalidated", 0),
        flag("key_1_invalidated", "Key Status: key index 1 invalidated", 1),
    )),
    uint8("last_validation_error", "Last validation error", enum=VALIDATION_ERRORS),
    uint16("last_validation_key_id", "Last Validation Key ID", hex=True),
    uint32("last_image_length", "Last Image Length", unit="bytes"),
    uint8("signature_length", "Signature Length", unit="bytes"),
    Bytes("signature", "Signature (first 8 bytes)", 8),
    # "UINT8[A]" with A defined nowhere; the Value column's 1 is taken as its
    # size, which the next offsets (130+A, 131+A) leave open.
    Bytes("adj_log_unread_entry_mask", "Adj log unread entry mask", 1),
    BitGroup(1, (
        flag("block_remote_procedure_disconnect", "Block Remote Procedure Disconnect", 0),
        flag("block_automatic_and_pushbutton_disconnect",
             "Block Automatic and Pushbutton Disconnect", 1),
        flag("block_local_procedure_disconnect", "Block Local Procedure Disconnect", 2),
        flag("block_remote_unblock", "Block Remote Unblock", 3),
    )),
    Array("pending_security_event_details", "Pending Security Event Details",
          ET90_NBR_PENDING_SECURITY_EVENTS, PENDING_SECURITY_EVENT),
    # firmware 4.60+; printed at "138+B" (B undefined): taken to follow the
    # pending events directly.
    Array("tls_port_status", "TLS Port Status (0 optical, 1 MEP1, 2 MEP2)", 3,
          TLS_PORT_STATUS),
))

# ------------------------------------------------------------------- ET90

ET90 = TableSpec("ET90", "Dimension LN", (
    uint16("ip_address_length", "IP Address Length", unit="bytes"),
    uint8("urgent_alarm_bitmask_length", "Urgent Alarm Bitmask Length", unit="bytes"),
    uint8("connection_reason_bitmap_length", "Connection Reason Bitmap Length", unit="bytes"),
    uint8("modem_apn_length", "Modem APN Length"),
    uint8("modem_apn_user_length", "Modem APN User Length"),
    uint8("modem_apn_password_length", "Modem APN Password Length"),
    uint8("modem_sim_pin_length", "Modem SIM Pin Length"),
    uint8("modem_manufacturer_length", "Modem Manufacturer Length"),
    uint8("modem_model_length", "Modem Model Length"),
    uint8("modem_revision_length", "Modem Revision Length"),
    uint8("modem_imei_length", "Modem IMEI Length"),
    uint8("modem_sim_phone_number_length", "Modem SIM Phone Number Length"),
    uint8("modem_current_mobile_operator_name_length",
          "Modem Current Mobile Operator Name Length"),
    uint8("modem_socket_maximum_connections", "Modem Socket Maximum Connections"),
    uint8("modem_maximum_connection_services", "Modem Maximum Connection Services"),
    # firmware 3.82 / 4.02+ and Control Point/OSGP Modules 1.31+
    uint8("nbr_ftz_messages", "Number of FTz Messages"),
    # firmware 4.20+
    uint16("modem_at_command_reply_length", "Modem AT Command Reply Length", unit="bytes"),
    uint8("modem_sim_iccd_length", "Modem SIM ICCD Length"),
    # Not listed by the guide (its ET90 stops at 19); ET89 sizes its pending
    # security events by MT90.25 and MT90.26, so those two bytes are laid out.
    Bytes("unlisted", "Not listed in the guide", 5),
    uint8("nbr_pending_security_events", "Number of Pending Security Events (MT90.25)"),
    uint8("pending_security_event_entry_size", "Pending Security Event Entry Size (MT90.26)",
          unit="bytes"),
))

# ------------------------------------------------------------------- ET97

ID_COMPARISON = {0: "Standard ID comparison", 1: "Mask comparison",
                 2: "No comparison, new registration is a new device",
                 3: "No comparison, new registration is the same device"}

RELAY_CONFIG = Record("relay", "Relay configuration", (
    Array("group_ids", "Group ID", 5, uint16("group_id", "Group ID", hex=True)),
    BitGroup(1, (
        bits("mode", "Mode", 0, 2, enum={0: "Standard", 1: "Load Management"}),
        flag("require_explicit_hb", "Require Explicit HB", 3),
    )),
    uint16("heartbeat_interval", "Heartbeat Interval", unit="min"),
    BitGroup(1, (
        bits("maintenance_mode_entry", "Maintenance Mode Entry", 0, 1, enum={
            0: "Explicit command only", 1: "Terminal cover removed"}),
        bits("maintenance_mode_display", "Maintenance Mode Display", 2, 3, enum={
            0: "No display, no update", 1: "Display state, no update",
            2: "Display state, allow update"}),
        flag("maintenance_mode_open", "Maintenance Mode Open", 4),
        bits("maintenance_mode_exit", "Maintenance Mode Exit", 5, 6, enum={
            0: "Explicit command", 1: "Terminal cover replaced plus delay",
            2: "Terminal cover replaced, at specified time"}),
    )),
    uint8("maintenance_mode_exit_delay", "Maintenance Mode Exit delay", unit="s"),
    Record("maintenance_mode_exit_time", "Maintenance Mode Exit time (local H:M)", (
        uint8("hour", "Hour"),
        uint8("minute", "Minute"),
    )),
))

ET97 = TableSpec("ET97", "Meter Configuration LN", (
    Array("ftz_message_contents_array", "FTz Message Contents Array", ET90_NBR_FTZ_MESSAGES,
          Bytes("ftz_message_contents", "FTz Message Contents", 8)),
    # The guide's A = 8 * ET90.16; Control Point/OSGP Modules and 3.82 stop
    # after the MEP 1 fields (A+31).
    uint8("mep_1_id_comparison_mode", "MEP 1 ID Comparison Mode", enum=ID_COMPARISON),
    Bytes("mep_1_id_mask", "MEP 1 ID Mask", 30),
    uint8("mep_2_id_comparison_mode", "MEP 2 ID Comparison Mode", enum=ID_COMPARISON),
    Bytes("mep_2_id_mask", "MEP 2 ID Mask", 30),
    BitGroup(1, (
        flag("power_boost_relay_ln", "Power Boost Relay LN", 0),
        flag("mbus_ad_use_300_baud", "Mbus AD use 300 Baud", 1),
    )),
    # "Array[2]" of 17 bytes from A+63 (offsets printed for element 0): it
    # ends at A+97, where Security Log Interval is printed.
    Array("relays", "Relay configuration", 2, RELAY_CONFIG),
    # A UINT16 at A+97 runs to A+98, where the guide prints the optical TLS
    # byte: the type is kept and the three TLS bytes follow at A+99..A+101.
    uint16("security_log_interval", "Security Log Interval (Minutes)", unit="min"),
    BitGroup(1, (flag("require_tls_on_optical_port", "Require TLS on Optical port", 0),)),
    BitGroup(1, (flag("require_tls_on_mep1_port", "Require TLS on MEP1 port", 0),)),
    BitGroup(1, (flag("require_tls_on_mep2_port", "Require TLS on MEP2 port", 0),)),
))

TABLES = (ET09, ET89, ET90, ET97)
