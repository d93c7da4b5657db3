"""Standard (C12.19 basic) tables as the MEP and optical port guides lay them out.

Field names are the guide's field names in snake_case ("Number of" becomes
``nbr_``, as the guide itself writes "Nbr Demand Resets").  Choices made
where the guides disagree are listed in ``docs/guide-notes.md``.
"""

from __future__ import annotations

from .types import (
    Array,
    Bcd,
    BitGroup,
    Bytes,
    Chars,
    Cmp,
    Dim,
    Local,
    LTimeDate,
    Record,
    Ref,
    Set,
    STimeDate,
    TableSpec,
    Time,
    When,
    bits,
    byte_flags,
    flag,
    int16,
    ni_fmat1,
    ni_fmat2,
    set_bytes,
    uint8,
)

# ------------------------------------------------------------ dimensions
# BT21 ("Actual Register") sizes the BT22..BT28 layouts.  Defaults: the
# guide's Value column, and for the 0..BT20.x ranges a meter without demand
# configured (what the chapter 2 example read of BT23, 44 bytes, shows).

BT21_DEMAND_RESET_COUNTER = Dim("BT21", "demand_reset_counter", 0)
BT21_DATE_TIME_FIELD = Dim("BT21", "date_time_field", 1)
BT21_CUMULATIVE_DEMAND = Dim("BT21", "cumulative_demand", 0)
BT21_CONT_CUM_DEMAND = Dim("BT21", "continuous_cumulative_demand", 0)
BT21_TIME_REMAINING = Dim("BT21", "time_remaining", 0)
BT21_NBR_SUMMATIONS = Dim("BT21", "nbr_summations", 11)
BT21_NBR_DEMANDS = Dim("BT21", "nbr_demands", 0)
BT21_NBR_COINCIDENT = Dim("BT21", "nbr_coincident_values", 0)
BT21_NBR_OCCUR = Dim("BT21", "nbr_occurrences", 1)
BT21_NBR_TIERS = Dim("BT21", "nbr_tiers", 4)
BT21_NBR_PRESENT_DEMANDS = Dim("BT21", "nbr_present_demands", 0)
BT21_NBR_PRESENT_VALUES = Dim("BT21", "nbr_present_values", 41)
# BT21.2 (sizes BT26): the guide gives only the range 0..BT20.2, so the default
# is the one value valid on every meter (no self-reads configured).
BT21_NBR_SELF_READS = Dim("BT21", "nbr_self_reads", 0)

BT00_MFG_STATUS_LENGTH = Dim("BT00", "manufacturer_status_length", 9)
# BT00 "Time Format": C12.19 drops STIME_DATE fields when it is 0 (no clock).
BT00_TIME_FORMAT = Dim("BT00", "time_format", 2)
# Sizes the response data of BT08/ET59/ET85.
BT00_RESPONSE_DATA_LENGTH = Dim("BT00", "response_data_length", 12)

ENERGY = "Wh"
REACTIVE_ENERGY = "VArh"
APPARENT_ENERGY = "VAh"
PF = 0.001

DAYS = {0: "Sunday", 1: "Monday", 2: "Tuesday", 3: "Wednesday", 4: "Thursday", 5: "Friday",
        6: "Saturday"}

# Source ids of BT22/BT27 (MEP guide, after BT22).  "T<n>" is the 0-based tier.
SOURCES: dict[int, str] = {
    0: "Fwd Active Wh L1L2L3", 1: "Rev Active Wh L1L2L3", 2: "Import Reactive VArh L1L2L3",
    3: "Export Reactive VArh L1L2L3", 4: "Power Off Seconds", 5: "Power Outage Qty",
    6: "Fwd+Rev Active Wh L1L2L3", 7: "Fwd-Rev Active Wh L1L2L3", 8: "Fwd Active W L1L2L3",
    9: "Rev Active W L1L2L3", 10: "Import Reactive VAr L1L2L3", 11: "Export Reactive VAr L1L2L3",
    12: "RMS Current L1", 13: "RMS Current L2", 14: "RMS Current L3", 15: "RMS Voltage L1",
    16: "RMS Voltage L2", 17: "RMS Voltage L3", 18: "Power Factor L1", 19: "Frequency",
    20: "VA Power L1L2L3", 21: "Power Factor L2", 22: "Power Factor L3",
    23: "Sin phase angle L1", 24: "Sin phase angle L2", 25: "Sin phase angle L3",
    26: "Channel 0 Pulse Input", 27: "Channel 1 Pulse Input", 28: "Error Counter",
}
_TIER_SOURCES = ("Fwd Active Wh L1L2L3", "Rev Active Wh L1L2L3", "Import Reactive VArh L1L2L3",
                 "Export Reactive VArh L1L2L3", "Power Off Minutes", "Power Outage Qty",
                 "Fwd+Rev Active Wh L1L2L3", "Fwd-Rev Active Wh L1L2L3",
                 "Channel 0 Pulse Input", "Channel 1 Pulse Input", "Error Counter")
for _t in range(4):
    for _i, _n in enumerate(_TIER_SOURCES):
        SOURCES[29 + 11 * _t + _i] = f"T{_t} {_n}"
for _d in range(1, 5):
    SOURCES[71 + 2 * _d] = f"MEP Dev {_d} Counter 1"
    SOURCES[72 + 2 * _d] = f"MEP Dev {_d} Counter 2"
SOURCES.update({
    81: "Fwd Active W L1L2L3 Post CT/VT Ratio", 82: "Rev Active W L1L2L3 Post CT/VT Ratio",
    83: "Import VAr L1L2L3 Post CT/VT Ratio", 84: "Export VAr L1L2L3 Post CT/VT Ratio",
    85: "Unused", 86: "Unused", 87: "Unused",
})
for _d in range(8):
    SOURCES[88 + _d] = f"Present Dmd {_d + 1}"
    SOURCES[96 + _d] = f"Previous Dmd {_d + 1}"
for _q in range(4):
    SOURCES[104 + _q] = f"Q{_q + 1} Reactive VAr L1L2L3"
    SOURCES[108 + _q] = f"Q{_q + 1} Reactive VArh L1L2L3"
for _m in range(112, 164):
    SOURCES[_m] = f"Mapped Source {_m}"
for _p, _base in (("Min Voltage", 164), ("Max Voltage", 167)):
    for _i in range(3):
        SOURCES[_base + _i] = f"{_p} L{_i + 1}"
SOURCES.update({
    170: "Max Active Fwd Power L1L2L3", 171: "Max Active Rev Power L1L2L3",
    172: "Max Reactive Power Q1", 173: "Max Reactive Power Q2", 174: "Max Reactive Power Q3",
    175: "Max Reactive Power Q4", 176: "Time Stamp Previous Source",
    177: "Max forward active power L1L2L3 Post CT/VT Ratio",
    178: "Max reverse active power L1L2L3 Post CT/VT Ratio",
})
for _i in range(3):
    SOURCES[179 + _i] = f"Max forward active power L{_i + 1} Post CT/VT Ratio"
    SOURCES[182 + _i] = f"Max reverse active power L{_i + 1} Post CT/VT Ratio"
    SOURCES[185 + _i] = f"Fwd Active W L{_i + 1}"
    SOURCES[188 + _i] = f"Rev Active W L{_i + 1}"
    SOURCES[191 + _i] = f"Fwd Active W L{_i + 1} Post CT/VT Ratio"
    SOURCES[194 + _i] = f"Rev Active W L{_i + 1} Post CT/VT Ratio"
    SOURCES[197 + _i] = f"RMS Current L{_i + 1} Post CT/VT Ratio"
    SOURCES[202 + _i] = f"Continuous RMS Voltage L{_i + 1}"
    SOURCES[205 + _i] = f"Average RMS Voltage L{_i + 1}"
    SOURCES[210 + _i] = f"Average Fwd Active W L{_i + 1}"
    SOURCES[213 + _i] = f"Average Rev Active W L{_i + 1}"
    SOURCES[233 + _i] = f"Average RMS Current mA L{_i + 1}"
SOURCES.update({
    200: "Reserved For Internal Use", 201: "Current Load Profile Interval Time Adjustment",
    208: "Average Fwd Active W L1L2L3", 209: "Average Rev Active W L1L2L3",
    232: "Neutral Current mA", 236: "Voltage Angle A to B", 237: "Voltage Angle B to C",
    238: "Voltage Angle C to A",
})
for _q in range(4):
    SOURCES[216 + _q] = f"Apparent Power Q{_q + 1} VA L1L2L3"
    for _ph in range(3):
        SOURCES[220 + 4 * _ph + _q] = f"Apparent Power Q{_q + 1} VA L{_ph + 1}"
for _i, _ph in enumerate("ABC"):
    SOURCES[239 + _i] = f"Imp Reactive VAr {_ph}"
    SOURCES[242 + _i] = f"Exp Reactive VAr {_ph}"


# ------------------------------------------------------------------- BT00

BT00 = TableSpec("BT00", "General Configuration", (
    BitGroup(1, (
        bits("data_order", "Data Order", 0, 0, enum={0: "Little endian", 1: "Big endian"}),
        bits("char_format", "Char Format", 1, 3,
             enum={0: "Unassigned", 1: "ASCII (ISO/IEC 646)", 2: "ISO 8859/1 Latin 1"}),
    )),
    BitGroup(1, (
        bits("time_format", "Time Format", 0, 2, enum={2: "UINT8 discrete fields"}),
        bits("data_access_method", "Data Access Method", 3, 4, enum={1: "Offset-count"}),
        bits("identification_format", "Identification Format", 5, 5,
             enum={0: "CHAR string", 1: "BCD"}),
        bits("integer_format", "Integer Format", 6, 7, enum={0: "Two's complement"}),
    )),
    BitGroup(1, (
        bits("non_integer_format_1", "Non-integer Format 1", 0, 3, enum={8: "INT32"}),
        bits("non_integer_format_2", "Non-integer Format 2", 4, 7, enum={8: "INT32"}),
    )),
    Chars("manufacturer", "Manufacturer", 4),
    uint8("nameplate_type", "Nameplate Type", enum={2: "Electric"}),
    uint8("default_set_used", "Default Set Used"),
    uint8("procedure_parameter_length", "Procedure Parameter Length", unit="bytes"),
    uint8("response_data_length", "Response Data Length", unit="bytes"),
    uint8("standard_version", "Standard Version"),
    uint8("standard_revision", "Standard Revision"),
    uint8("dim_basic_tables_used", "Dim Basic Tables Used", unit="bytes"),
    uint8("dim_extended_tables_used", "Dim Extended Tables Used", unit="bytes"),
    uint8("dim_basic_procedures_used", "Dim Basic Procedures Used", unit="bytes"),
    uint8("dim_extended_procedures_used", "Dim Extended Procedures Used", unit="bytes"),
    uint8("manufacturer_status_length", "Manufacturer Status Length", unit="bytes"),
    uint8("nbr_pending_tables", "Number of Pending Tables"),
    # The MEP guide calls the rest "reserved" but defines the symbols A..D
    # for them; C12.19 puts the used/writable table and procedure sets here.
    Set("basic_tables_used", "Basic Tables Used", Ref("dim_basic_tables_used", 10)),
    Set("extended_tables_used", "Extended Tables Used", Ref("dim_extended_tables_used", 13)),
    Set("basic_procedures_used", "Basic Procedures Used",
        Ref("dim_basic_procedures_used", 2)),
    Set("extended_procedures_used", "Extended Procedures Used",
        Ref("dim_extended_procedures_used", 12)),
    Set("basic_tables_writable", "Basic Tables Writable", Ref("dim_basic_tables_used", 10)),
    Set("extended_tables_writable", "Extended Tables Writable",
        Ref("dim_extended_tables_used", 13)),
))

# ------------------------------------------------------------------- BT01


def _version(prefix: str, label: str) -> BitGroup:
    # Two UINT8 read as one 16-bit value, first byte most significant.
    return BitGroup(2, (
        bits(f"{prefix}_build", f"{label} build (zz)", 0, 4),
        bits(f"{prefix}_minor", f"{label} minor (yy)", 5, 11),
        bits(f"{prefix}_major", f"{label} major (x)", 12, 15),
    ), msb_first=True)


BT01 = TableSpec("BT01", "General Manufacturer Information", (
    Chars("manufacturer", "Manufacturer", 4),
    Chars("model", "Model", 8),
    _version("hardware_version", "Hardware version"),
    _version("firmware_version", "Firmware version"),
    Bcd("manufacturer_serial_number", "Manufacturer Serial Number", 8),
))

# ------------------------------------------------------------------- BT03

_MFG_ALARMS = (
    ("load_profile_overflow", "Load Profile Overflow"),
    ("self_read_occurred", "Self-Read Occurred"),
    ("load_disconnect_changed_state", "Load Disconnect Has Changed State"),
    ("control_relay_1_open", "Control Relay (1) Open"),
    ("phase_loss", "Phase Loss"),
    ("phase_inversion", "Phase Inversion"),
    ("plc_config_failure", "PLC Config Failure"),
    ("general_error", "General Error"),
    ("invalid_password", "Invalid Password"),
    ("remote_communications_inactive", "Remote Communications Inactive"),
    ("current_on_missing_phase", "Current on Missing or Unused Phase"),
    ("pulse_input_1_tamper", "Pulse Input 1 Tamper"),
    ("pulse_input_2_tamper", "Pulse Input 2 Tamper"),
    ("software_crc_error", "Software CRC Error"),
    ("code_bank_changed", "Code Bank Changed"),
    ("load_profile_backfill_failed", "Load Profile Backfill Failed"),
    ("mep_installed_or_removed", "MEP Installed or Removed"),
    ("mbus_alarm", "M-Bus Alarm"),
    ("mbus_auto_discovery_complete", "M-Bus Auto-Discovery Complete"),
    ("phase_rotation_changed", "Phase Rotation Changed"),
    ("prepay_credit_exhausted", "Prepay Credit Exhausted"),
    ("prepay_warning_acknowledged", "Prepay Warning Acknowledged"),
    ("event_log_overflow_pending", "Event Log Overflow Pending"),
    ("mfg_log_entry_available", "Mfg Log Entry Available"),
    ("dimension_change", "Dimension Change"),
    ("magnetic_tamper_detected", "Magnetic Tamper Detected"),
    ("access_lockout_override", "Access Lockout Override"),
    ("power_quality_event_detected", "Power Quality Event Detected"),
    ("event_log_unread_entries", "Event Log Unread Entries"),
    ("thd_state_changed", "THD State Changed"),
    ("load_profile_1_unread_entries", "Load Profile 1 Unread Entries Exist"),
    ("load_side_voltage_detected", "Load Side Voltage Detected"),
    ("unbalanced_voltage_detected", "Unbalanced Voltage Detected"),
    ("password_table_written", "Password Table Written To"),
    ("password_expiration_pending", "Password (Key) Expiration Pending"),
    ("p2p_security", "P2P Security"),
    ("firmware_separation_violation", "Firmware Separation Violation"),
    ("modem_error", "Modem Error"),
    ("g3_alarm", "G3 Alarm"),
    ("g3_event_logged", "G3 Event Logged"),
    ("control_relay_2_open", "Control Relay (2) Open"),
)


def _mfg_alarm_bytes() -> tuple[BitGroup, ...]:
    groups = []
    for b in range(0, len(_MFG_ALARMS), 8):
        groups.append(BitGroup(1, tuple(
            flag(n, label, i) for i, (n, label) in enumerate(_MFG_ALARMS[b : b + 8])
        )))
    return tuple(groups)


BT03 = TableSpec("BT03", "End Device Mode Status", (
    BitGroup(1, (
        flag("metering_mode", "Metering Mode", 0),
        flag("test_mode", "Test Mode", 1),
        flag("meter_shop_mode", "Meter Shop Mode", 2),
    )),
    BitGroup(2, tuple(flag(n, label, i) for i, (n, label) in enumerate((
        ("unprogrammed", "Unprogrammed"),
        ("configuration_error", "Configuration Error"),
        ("system_reset", "System Reset"),
        ("ram_failure", "RAM Failure"),
        ("rom_failure", "ROM Failure"),
        ("nonvolatile_memory_failure", "Non-volatile Memory Failure"),
        ("clock_error", "Clock Error"),
        ("measurement_error", "Measurement Error"),
        ("low_battery", "Low Battery"),
        ("low_loss_potential", "Low Loss Potential"),
        ("demand_overload", "Demand Overload"),
        ("power_failure", "Power Failure"),
        ("cover_removed", "Cover Removed"),
        ("reverse_energy", "Reverse Energy"),
        ("data_backup_incomplete", "Data Backup Incomplete"),
        ("disconnect_switch_error", "Disconnect Switch Error"),
    )))),
    BitGroup(1, (
        flag("lp_set2_unread_entries", "Load Profile Data Set 2 Unread Entries Exist", 0),
        flag("lp_set3_unread_entries", "Load Profile Data Set 3 Unread Entries Exist", 1),
        flag("lp_set4_unread_entries", "Load Profile Data Set 4 Unread Entries Exist", 2),
        flag("neutral_current_deviation", "Neutral Current Deviation", 3),
    )),
    # Manufacturer alarms: SET(BT00.17), named bits first.
    Record("mfg_alarms", "Manufacturer alarms", _mfg_alarm_bytes(),
           size=BT00_MFG_STATUS_LENGTH),
))

# ---------------------------------------------------------- BT20 / BT21

REGISTER_COUNTS = (
    uint8("nbr_self_reads", "Number of Self-reads"),
    uint8("nbr_summations", "Number of Summations"),
    uint8("nbr_demands", "Number of Demands"),
    uint8("nbr_coincident_values", "Number of Coincident Values"),
    uint8("nbr_occurrences", "Number of Occurrences"),
    uint8("nbr_tiers", "Number of Tiers"),
    uint8("nbr_present_demands", "Number of Present Demands"),
    uint8("nbr_present_values", "Number of Present Values"),
)
"""BT20/BT21 offsets 2..9, the register counts (ET42 repeats them)."""


def _register_dims(tag: str, name: str) -> TableSpec:
    return TableSpec(tag, name, (
        BitGroup(1, (
            flag("season_information_field", "Season Information Field", 0),
            flag("date_time_field", "Date/Time Field", 1),
            flag("demand_reset_counter", "Demand Reset Counter", 2),
            flag("demand_reset_lock", "Demand Reset Lock", 3),
            flag("cumulative_demand", "Cumulative Demand", 4),
            flag("continuous_cumulative_demand", "Continuous Cumulative Demand", 5),
            flag("time_remaining", "Time Remaining", 6),
        )),
        BitGroup(1, (
            flag("self_read_inhibit_overflow", "Self-read Inhibit Overflow", 0),
            flag("self_read_sequence_number", "Self-read Sequence Number", 1),
            flag("daily_self_read", "Daily Self-read", 2),
            flag("weekly_self_read", "Weekly Self-read", 3),
            bits("self_read_demand_reset", "Self-read Demand Reset", 4, 5),
        )),
        *REGISTER_COUNTS,
    ))


BT20 = _register_dims("BT20", "Dimension Register")
BT21 = _register_dims("BT21", "Actual Register")

# ------------------------------------------------------------------- BT22

_SOURCE = {"enum": SOURCES}

BT22 = TableSpec("BT22", "Data Selection", (
    Array("summation_sources", "Summation Sources", BT21_NBR_SUMMATIONS,
          uint8("summation_source", "Summation Source", **_SOURCE)),
    Array("demand_select", "Demand Select", BT21_NBR_DEMANDS,
          uint8("demand_source", "Demand Source", **_SOURCE)),
    Set("min_max_flags", "Min Max Flags (1 = maximum)", set_bytes(BT21_NBR_DEMANDS)),
    Array("coincident_select", "Coincident Select", BT21_NBR_COINCIDENT,
          uint8("coincident_source", "Coincident Source", **_SOURCE)),
    Array("coincident_demand_associated", "Coincident Demand Associated", BT21_NBR_COINCIDENT,
          uint8("demand_index", "Demand index")),
))

# ------------------------------------------------------------------- BT23

SUMMATIONS = (
    ni_fmat1("fwd_active_wh_l1l2l3", "Fwd Active Wh L1L2L3", unit=ENERGY),
    ni_fmat1("rev_active_wh_l1l2l3", "Rev Active Wh L1L2L3", unit=ENERGY),
    ni_fmat1("import_reactive_varh_l1l2l3", "Import Reactive VArh L1L2L3", unit=REACTIVE_ENERGY),
    ni_fmat1("export_reactive_varh_l1l2l3", "Export Reactive VArh L1L2L3", unit=REACTIVE_ENERGY),
    ni_fmat1("power_outage_duration", "Power Outage Duration", unit="s"),
    ni_fmat1("power_outage_qty", "Power Outage Qty"),
    ni_fmat1("fwd_plus_rev_active_wh_l1l2l3", "Fwd+Rev Active Wh L1L2L3", unit=ENERGY),
    ni_fmat1("fwd_minus_rev_active_wh_l1l2l3", "Fwd-Rev Active Wh L1L2L3", unit=ENERGY),
    ni_fmat1("pulse_input_1", "Pulse Input 1", unit="pulses"),
    ni_fmat1("pulse_input_2", "Pulse Input 2", unit="pulses"),
    ni_fmat1("error_counter", "Error Counter"),
    ni_fmat1("reactive_varh_q1", "Reactive VArh Q1", unit=REACTIVE_ENERGY),
    ni_fmat1("reactive_varh_q2", "Reactive VArh Q2", unit=REACTIVE_ENERGY),
    ni_fmat1("reactive_varh_q3", "Reactive VArh Q3", unit=REACTIVE_ENERGY),
    ni_fmat1("reactive_varh_q4", "Reactive VArh Q4", unit=REACTIVE_ENERGY),
    ni_fmat1("apparent_energy_vah_q1", "Apparent Energy VAh Q1", unit=APPARENT_ENERGY),
    ni_fmat1("apparent_energy_vah_q2", "Apparent Energy VAh Q2", unit=APPARENT_ENERGY),
    ni_fmat1("apparent_energy_vah_q3", "Apparent Energy VAh Q3", unit=APPARENT_ENERGY),
    ni_fmat1("apparent_energy_vah_q4", "Apparent Energy VAh Q4", unit=APPARENT_ENERGY),
)

DMD_RCD = Record("demand", "Demand record (DmdRcd)", (
    When(BT21_DATE_TIME_FIELD, (
        Array("event_time", "Event Time", BT21_NBR_OCCUR, STimeDate("event_time", "Event Time")),
    )),
    When(BT21_CUMULATIVE_DEMAND, (ni_fmat1("cumulative_demand", "Cumulative Demand"),)),
    When(BT21_CONT_CUM_DEMAND, (ni_fmat1("contin_cum_demand", "Contin Cum Demand"),)),
    Array("demand", "Demand", BT21_NBR_OCCUR, ni_fmat2("demand", "Demand")),
))

COIN_RCD = Record("coincident", "Coincident record (CoinRcd)", (
    Array("coincidents", "Coincidents", BT21_NBR_OCCUR, ni_fmat2("coincident", "Coincident")),
))

DATA_BLOCK = (
    Array("summations", "Summations", BT21_NBR_SUMMATIONS,
          ni_fmat1("summation", "Summation"), per_index=SUMMATIONS, flatten=True),
    Array("demands", "Demand Measurements", BT21_NBR_DEMANDS, DMD_RCD),
    Array("coincident_values", "Coincidents", BT21_NBR_COINCIDENT, COIN_RCD),
)
"""BT23's "Total Data Block"; BT24..BT26 and each tier repeat it."""

REGISTER_DATA = (
    When(BT21_DEMAND_RESET_COUNTER, (uint8("nbr_demand_resets", "Nbr Demand Resets"),)),
    *DATA_BLOCK,
    Array("tiers", "Tier Data Block", BT21_NBR_TIERS,
          Record("tier", "Tier data block", DATA_BLOCK)),
)

BT23 = TableSpec("BT23", "Current Register Data", REGISTER_DATA)

# --------------------------------------------------------------- BT24..26

BT24 = TableSpec("BT24", "Previous Season Data", (
    STimeDate("time_and_date", "Time and Date"),
    uint8("season", "Season"),
    Record("register_data", "Register Data", REGISTER_DATA),
))
BT25 = TableSpec("BT25", "Previous Demand Reset Data", (
    STimeDate("date_time", "Date/Time"),
    uint8("season", "Season"),
    Record("register_data", "Register Data", REGISTER_DATA),
))

# ------------------------------------------------------------------- BT27

BT27 = TableSpec("BT27", "Present Register Selection", (
    Array("present_demand_sources", "Present Demand Sources", BT21_NBR_PRESENT_DEMANDS,
          uint8("present_demand_source", "Present Demand Source", **_SOURCE)),
    Array("present_value_sources", "Present Value Sources", BT21_NBR_PRESENT_VALUES,
          uint8("present_value_source", "Present Value Source", **_SOURCE)),
))

# ------------------------------------------------------------------- BT28


def _pv(name: str, label: str, unit: str | None = None, scale: float | None = None):
    return ni_fmat1(name, label, unit=unit, scale=scale)


PRESENT_VALUES = (
    _pv("fwd_active_w_l1l2l3", "Fwd Active W L1L2L3", "W"),
    _pv("rev_active_w_l1l2l3", "Rev Active W L1L2L3", "W"),
    _pv("import_reactive_var_l1l2l3", "Import Reactive VAr L1L2L3", "VAr"),
    _pv("export_reactive_var_l1l2l3", "Export Reactive VAr L1L2L3", "VAr"),
    _pv("rms_current_l1", "RMS Current L1", "mA"),
    _pv("rms_current_l2", "RMS Current L2", "mA"),
    _pv("rms_current_l3", "RMS Current L3", "mA"),
    _pv("rms_voltage_l1", "RMS Voltage L1", "mV"),
    _pv("rms_voltage_l2", "RMS Voltage L2", "mV"),
    _pv("rms_voltage_l3", "RMS Voltage L3", "mV"),
    _pv("power_factor_l1", "Power Factor L1", scale=PF),
    _pv("frequency", "Frequency", "mHz"),
    _pv("va_l1l2l3", "VA L1L2L3", "VA"),
    _pv("power_factor_l2", "Power Factor L2", scale=PF),
    _pv("power_factor_l3", "Power Factor L3", scale=PF),
    _pv("sin_pa_l1", "Sin(PA) L1", scale=PF),
    _pv("sin_pa_l2", "Sin(PA) L2", scale=PF),
    _pv("sin_pa_l3", "Sin(PA) L3", scale=PF),
    _pv("fwd_active_w_l1l2l3_ctvt", "Fwd Active W L1L2L3 with CT/VT ratio", "W"),
    _pv("rev_active_w_l1l2l3_ctvt", "Rev Active W L1L2L3 with CT/VT ratio", "W"),
    _pv("import_reactive_var_l1l2l3_ctvt", "Import Reactive VAr L1L2L3 with CT/VT ratio", "VAr"),
    _pv("export_reactive_var_l1l2l3_ctvt", "Export Reactive VAr L1L2L3 with CT/VT ratio", "VAr"),
    *(_pv(f"q{q}_reactive_var_l1l2l3", f"Q{q} Reactive VAr L1L2L3", "VAr") for q in range(1, 5)),
    *(_pv(f"fwd_active_w_l{p}", f"Fwd Active W L{p}", "W") for p in range(1, 4)),
    *(_pv(f"rev_active_w_l{p}", f"Rev Active W L{p}", "W") for p in range(1, 4)),
    *(_pv(f"fwd_active_w_l{p}_ctvt", f"Fwd Active W L{p} Post CT/VT Ratio", "W")
      for p in range(1, 4)),
    *(_pv(f"rev_active_w_l{p}_ctvt", f"Rev Active W L{p} Post CT/VT Ratio", "W")
      for p in range(1, 4)),
    *(_pv(f"rms_current_l{p}_ct", f"RMS Current L{p} Post CT Ratio", "mA") for p in range(1, 4)),
    *(_pv(f"rms_voltage_l{p}_continuous", f"RMS Voltage L{p} - Continuous", "mV")
      for p in range(1, 4)),
    *(_pv(f"rms_voltage_l{p}_average", f"RMS Voltage L{p} - Average", "mV")
      for p in range(1, 4)),
    _pv("average_fwd_active_w_l1l2l3", "Average Fwd Active W L1L2L3", "W"),
    _pv("average_rev_active_w_l1l2l3", "Average Rev Active W L1L2L3", "W"),
    *(_pv(f"average_fwd_active_w_l{p}", f"Average Fwd Active W L{p}", "W") for p in range(1, 4)),
    *(_pv(f"average_rev_active_w_l{p}", f"Average Rev Active W L{p}", "W") for p in range(1, 4)),
    *(_pv(f"apparent_power_q{q}_va_l1l2l3", f"Apparent Power Q{q} VA L1L2L3", "VA")
      for q in range(1, 5)),
    *(_pv(f"apparent_power_q{q}_va_l{p}", f"Apparent Power Q{q} VA L{p}", "VA")
      for p in range(1, 4) for q in range(1, 5)),
    _pv("neutral_current", "Neutral Current", "mA"),
    *(_pv(f"average_rms_current_l{p}", f"Average RMS Current L{p}", "mA") for p in range(1, 4)),
    _pv("voltage_angle_a_to_b", "Voltage Angle A to B", "°", 0.01),
    _pv("voltage_angle_b_to_c", "Voltage Angle B to C", "°", 0.01),
    _pv("voltage_angle_c_to_a", "Voltage Angle C to A", "°", 0.01),
    *(_pv(f"imp_reactive_var_{ph}", f"Imp Reactive VAr {ph.upper()}", "VAr") for ph in "abc"),
    *(_pv(f"exp_reactive_var_{ph}", f"Exp Reactive VAr {ph.upper()}", "VAr") for ph in "abc"),
)
assert len(PRESENT_VALUES) == 84, len(PRESENT_VALUES)

BT28 = TableSpec("BT28", "Present Register Data", (
    Array("present_demands", "Present Demands", BT21_NBR_PRESENT_DEMANDS,
          Record("present_demand", "Present demand record (PresDmdRcd)", (
              When(BT21_TIME_REMAINING, (Time("time_remaining", "Time Remaining"),)),
              ni_fmat2("demand_value", "Demand value"),
          ))),
    Array("present_values", "Present values", BT21_NBR_PRESENT_VALUES,
          ni_fmat1("present_value", "Present value"), per_index=PRESENT_VALUES, flatten=True),
))

# -------------------------------------------------------------- BT52/BT55

_CLOCK_FLAGS = BitGroup(1, (
    bits("day_of_week", "Day of Week", 0, 2, enum=DAYS),
    flag("daylight_saving_time", "Daylight Saving Time", 3),
    flag("greenwich_mean_time", "Greenwich Mean Time", 4),
    flag("time_zone_applied", "Time Zone Applied", 5),
    flag("dst_applied", "DST Applied", 6),
))

BT52 = TableSpec("BT52", "UTC Clock", (
    LTimeDate("clock_calendar", "Clock Calendar"),
    _CLOCK_FLAGS,
))

BT55 = TableSpec("BT55", "Local Clock State", (
    LTimeDate("clock_calendar", "Clock Calendar"),
    _CLOCK_FLAGS,
    BitGroup(2, (
        bits("current_tier", "Current Tier", 0, 2),
        bits("tier_drive", "Tier Drive", 6, 7, enum={
            0: "TOU calendar", 1: "Manual, hold off", 2: "Manual, hold on",
            3: "Override/threshold/consumption tariff"}),
        bits("special_schedule_active", "Special Schedule Active", 8, 11),
        bits("season", "Season", 12, 15),
    )),
))

# ------------------------------------------------------------------- BT15

BT15 = TableSpec("BT15", "Constants", (
    ni_fmat1("multiplier", "Multiplier"),
    ni_fmat1("offset", "Offset"),
    BitGroup(1, (flag("applied", "Applied (CT/VT ratios applied to meter data)", 0),)),
    ni_fmat1("ct_ratio", "CT Ratio"),
    ni_fmat1("vt_ratio", "VT Ratio"),
))

# ------------------------------------------------------------------- BT53

BT53 = TableSpec("BT53", "Time Offset", (
    Time("dst_effective", "Daylight Saving Time Effective"),
    uint8("dst_adjustment", "Daylight Saving Time Adjustment", unit="min"),
    int16("time_zone_offset", "Time Zone Offset", unit="min"),
))

# ------------------------------------------------------------- BT04 and PED
# Optical guide: pending tables (id + 4096) mirror a table and activate on the
# condition of their Pending Event Description; BT04 lists the activations.

PED_EVENT_CODES = {
    0: "Absolute time (Event Storage is an STIME_DATE, UTC)",
    1: "Relative time (weeks, days, hours, minutes, seconds)",
    2: "No automatic activation (Event Storage is opaque)",
}

PED = Record("ped", "Pending Event Description (PED)", (
    byte_flags(
        bits("event_code", "Event Code", 0, 3, enum=PED_EVENT_CODES),
        flag("self_read_flag", "Self Read Flag", 4),
        flag("demand_reset_flag", "Demand Reset Flag", 5),
    ),
    # Event Storage is ARRAY[5] OF CHAR whose meaning follows the event code.
    When(Cmp(Local("event_code", 0), "==", 0), (
        STimeDate("event_storage_time", "Event Storage: activation time (UTC)",
                  desc="All zeroes: empty PED"),
    ), otherwise=(
        When(Cmp(Local("event_code", 0), "==", 1), (
            Record("event_storage_delay", "Event Storage: delay after the write", (
                uint8("weeks", "Weeks"),
                uint8("days", "Days"),
                uint8("hours", "Hours", unit="h"),
                uint8("minutes", "Minutes", unit="min"),
                uint8("seconds", "Seconds", unit="s"),
            )),
        ), otherwise=(
            Bytes("event_storage", "Event Storage", 5),
        )),
    )),
))
"""The PED of the optical guide (BT04 entries, pending tables, BP15): 6 bytes."""

BT00_DIM_BASIC_TABLES = Dim("BT00", "dim_basic_tables_used", 10)
BT00_DIM_EXTENDED_TABLES = Dim("BT00", "dim_extended_tables_used", 20)
BT00_NBR_PENDING_TABLES = Dim("BT00", "nbr_pending_tables", 4)

BT04 = TableSpec("BT04", "Pending Status", (
    Set("basic_pending", "Basic Pending (one flag per basic table)", BT00_DIM_BASIC_TABLES),
    Set("extended_pending", "Extended Pending (one flag per extended table)",
        BT00_DIM_EXTENDED_TABLES),
    STimeDate("last_activation_time", "Last Activation Time"),
    uint8("nbr_pending_activations", "Number of Pending Activations"),
    Array("pending_activations", "Pending Activations", BT00_NBR_PENDING_TABLES,
          Record("activation", "Pending activation", (
              *PED.fields,
              BitGroup(2, (
                  bits("table_id", "Table ID (without the 4096 offset)", 0, 11),
                  flag("still_pending", "Still Pending", 12),
              )),
          ))),
))

BASIC = (BT00, BT01, BT03, BT04, BT15, BT20, BT21, BT22, BT23, BT24, BT25, BT27, BT28, BT52,
         BT53, BT55)

