"""Meter configuration tables of the MEP guide, chapter 4: ET23, ET29 and ET55.

All three change with the firmware generation.  The guide prints two offset
columns for ET55 (Gen 4 meters, firmware 4.0+, versus Gen 3.X meters and
Control Point/OSGP Modules), lists ET29 fields that exist on 4.0+ only and
gives ET23 a longer reserved tail on 4.0+.  The generation is taken from the
firmware major version in BT01 (>= 4 is Gen 4; modules run 1.x); without BT01
in the capture the layouts default to Gen 4, as ET50/ET51/ET70 do.  Reserved
areas are named after their offset in the firmware 4.0+ column.  Choices made
where the guide is unclear are listed in ``docs/guide-notes.md``.
"""

from __future__ import annotations

from .types import (
    Array,
    BitGroup,
    Bytes,
    Chars,
    Cmp,
    Dim,
    LTimeDate,
    Record,
    Set,
    TableSpec,
    When,
    bits,
    flag,
    int16,
    sub,
    uint8,
    uint16,
    uint32,
)

# BT01 "Firmware version" major digit: Gen 4 meters run 4.x, Gen 3 meters 3.x
# and Control Point/OSGP Modules 1.x.  Default: a Gen 4 meter.
BT01_FIRMWARE_MAJOR = Dim("BT01", "firmware_version_major", 4)
GEN4 = Cmp(BT01_FIRMWARE_MAJOR, ">=", 4)
"""The guide's "X = 1": a meter running firmware 4.0 or higher."""

# BT20.7 "Number of Tiers" sizes the ET55 step tariff thresholds; the optical
# guide's Value column gives 4 (8 only optionally from firmware 3.70).
BT20_NBR_TIERS = Dim("BT20", "nbr_tiers", 4)

# ------------------------------------------------------------------- ET23
# "Exception Log [0]" heads the two LonTalk counters in the guide; it adds no
# bytes.  The reserved tail ends at 185 (3.X, modules) or 217 (4.0+).

DISCONNECT_INTERNAL_STATUS = {0: "Closed", 1: "Closing (pulsing)", 2: "Opened",
                              3: "Opening (pulsing)"}

ET23 = TableSpec("ET23", "Miscellaneous Information", (
    uint32("lontalk_messages_received", "LonTalk Messages Received",
           desc="Non-validated explicit LonTalk messages received"),
    uint32("lontalk_messages_validated", "LonTalk Messages Validated",
           desc="Explicit LonTalk messages that passed the digest check"),
    Bytes("reserved_8", "Reserved", 86),
    uint8("disconnect_internal_status", "Disconnect Internal Status",
          enum=DISCONNECT_INTERNAL_STATUS),
    uint32("active_calendar_id", "Active Calendar ID", hex=True),
    When(GEN4, (Bytes("reserved_99", "Reserved", 119),),
         otherwise=(Bytes("reserved_99", "Reserved", 87),)),
))

# ------------------------------------------------------------------- ET29
# Hardware Options is ARRAY[3] OF UINT8 at 0..2 holding bits 0..23 (the guide
# itself cites bit 23 as "ET29.0.23"), so the reserved bytes printed as 2..4
# are 3..4.  Offsets 20..53 exist on firmware 4.0+ only.

BATTERY_TYPES = {0: "None", 1: "Standard", 2: "Reserved", 3: "Supercap"}

_MATRIX1 = Record("usart", "USART", (
    uint8("board", "Board", enum={1: "Wireless board", 2: "Wired board", 3: "PLC board"}),
    uint8("port", "Port", enum={1: "MEP port", 2: "M-Bus port", 3: "PLC port"}),
    uint8("sequence_number", "Sequence Number",
          desc="For MEP ports: 1 = MEP client 1, 2 = MEP client 2"),
))

_MATRIX2 = Record("uart", "UART", (
    uint8("board", "Board", enum={0: "No board", 4: "Modem board", 5: "PLC A-Band board",
                                  6: "PLC G3 board"}),
    uint8("port", "Port", enum={3: "PLC port", 4: "Modem port", 5: "Optical port"}),
    uint8("logical_port_number", "Logical Port Number", desc="1, 2, 3 or 4"),
))

ET29 = TableSpec("ET29", "Hardware Configuration", (
    BitGroup(3, (
        flag("so_kyz_output", "Hardware Options: SO / KYZ Output", 0),
        flag("pulse_input_1", "Hardware Options: Pulse Input 1", 1),
        flag("pulse_input_2", "Hardware Options: Pulse Input 2", 2),
        flag("disconnect_and_buzzer", "Hardware Options: Disconnect & Buzzer", 5),
        flag("control_relay_1_dry", "Hardware Options: Control Relay 1 (Dry)", 6),
        flag("control_relay_2_dry", "Hardware Options: Control Relay 2 (Dry)", 7),
        flag("mbus_module", "Hardware Options: M-Bus Module", 8),
        flag("cover_tamper", "Hardware Options: Cover Tamper", 9),
        flag("mep_client_1_port", "Hardware Options: MEP Client 1 Port Enabled", 10),
        flag("disconnect_sensor", "Hardware Options: Disconnect Sensor", 11),
        flag("magnetic_tamper", "Hardware Options: Magnetic Tamper", 12),
        flag("high_frequency_noise_detection_disabled",
             "Hardware Options: High Frequency Noise Detection Disabled", 13),
        flag("two_line_disconnect", "Hardware Options: Two Line Disconnect", 14),
        flag("no_metering", "Hardware Options: No Metering", 15),
        flag("no_lcd", "Hardware Options: No LCD", 16),
        flag("external_ct", "Hardware Options: External CT", 17),
        flag("backup_power", "Hardware Options: Backup Power", 18),
        flag("external_disconnect_feedback", "Hardware Options: External Disconnect Feedback",
             19),
        flag("external_voltage", "Hardware Options: External Voltage", 20),
        flag("voltage_signal_adc_input_inverted",
             "Hardware Options: Voltage Signal ADC Input Inverted", 21),
        flag("non_latching_relay", "Hardware Options: Non-latching Relay", 22),
        flag("mep_client_2_port", "Hardware Options: MEP Client 2 Port Enabled", 23),
    )),
    Bytes("reserved_3", "Reserved", 2),
    BitGroup(1, (
        flag("single_phase", "Internal Configuration: Single Phase", 0),
        flag("polyphase", "Internal Configuration: Polyphase", 1),
        flag("pulse_relay_for_disconnect", "Internal Configuration: Pulse Relay for Disconnect",
             6),
        flag("power_boost_relay", "Internal Configuration: Power Boost Relay (4.0+)", 7),
    )),
    Bytes("reserved_6", "Reserved", 14),
    When(GEN4, (
        Bytes("reserved_20", "Reserved", 4),
        Array("comm_assignment_matrix_1", "Comm Assignment Matrix 1", 3, _MATRIX1),
        BitGroup(4, (
            flag("two_disconnect_sensors", "Extended Hardware Options: Two Disconnect Sensors",
                 0),
            flag("disconnect_toggle_button", "Extended Hardware Options: Disconnect Toggle Button",
                 1),
            flag("backlight_lcd_present", "Extended Hardware Options: Backlight LCD Present", 3),
            flag("buzzer", "Extended Hardware Options: Buzzer", 4),
            bits("battery_type", "Extended Hardware Options: Battery Type", 5, 6,
                 enum=BATTERY_TYPES),
            flag("earth_fault", "Extended Hardware Options: Earth Fault", 7),
            flag("external_tamper_input_1", "Extended Hardware Options: External Tamper Input 1",
                 8),
            flag("external_tamper_input_2", "Extended Hardware Options: External Tamper Input 2",
                 9),
            flag("s0_pulse_output_2", "Extended Hardware Options: S0 Pulse Output 2", 10),
            flag("security_chip", "Extended Hardware Options: Security Chip", 11),
            flag("last_gasp_module", "Extended Hardware Options: Last Gasp Module", 12),
            flag("control_relay_1_type", "Extended Hardware Options: Control Relay 1 Type "
                 "(latching)", 13),
            flag("control_relay_2_type", "Extended Hardware Options: Control Relay 2 Type "
                 "(latching)", 14),
        )),
        Bytes("reserved_37", "Reserved", 10),
        # Line sensor default "2 in SP" has no listed meaning: it shows as unknown.
        BitGroup(1, (
            bits("line", "Current Sensors: Line", 0, 4, enum={0: "Shunt", 1: "PCB coil"}),
            bits("neutral", "Current Sensors: Neutral", 5, 7, enum={
                0: "Shunt", 1: "PCB coil", 2: "Earth fault transformer"}),
        )),
        # The guide prints the logical port number's offset as 0; its text says 50 and 53.
        Array("comm_assignment_matrix_2", "Comm Assignment Matrix 2", 2, _MATRIX2),
    )),
))

# ------------------------------------------------------------------- ET55
# Offsets 0..51 are the same in both columns; from 52 on the Gen 4 column is
# one byte later (5-character ID code).  A = 146 (147 on Gen 4) + 4*(BT20.7-1).

POWER_SOURCES = {0: "Forward + reverse power", 1: "Forward power",
                 2: "Forward - reverse power"}
STEP_TARIFF_SOURCES = {0: "Forward Active Wh L1L2L3", 1: "Rev Active Wh L1L2L3",
                       2: "Fwd + Rev Active Wh L1L2L3", 3: "Fwd - Rev Active Wh L1L2L3"}
DECIMAL_POINTS = {0: "Right-most character", 1: "2nd character from the right",
                  2: "3rd character from the right", 3: "4th character from the right",
                  4: "5th character from the right (Gen 4)"}

_GEN4_TAIL = (
    BitGroup(1, (
        bits("house_icon_control", "Flags For MEP: House Icon Control", 0, 1, enum={
            0: "Neither MEP client", 1: "MEP client 1 (MEP1)", 2: "MEP client 2 (MEP2)"}),
        flag("mbus_discovery_auto_confirmation", "Flags For MEP: M-Bus Discovery "
             "Auto-Confirmation", 2),
    )),
    BitGroup(1, (
        flag("enable_optical_dos_timer", "Optical Configuration Settings: Enable Optical "
             "D.O.S. Timer", 0),
        flag("disable_optical_port", "Optical Configuration Settings: Disable Optical Port", 1),
    )),
    uint16("optical_session_timeout", "Optical Session Timeout", unit="s"),
    uint16("optical_session_hold_off", "Optical Session Hold-Off", unit="s"),
    BitGroup(1, (
        flag("external_tamper_1_in_use", "External Tamper Status: External Tamper 1 In Use", 0),
        flag("external_tamper_2_in_use", "External Tamper Status: External Tamper 2 In Use", 1),
    )),
    Array("tamper_adc", "Tamper ADC", 3, int16("tamper_adc", "Tamper ADC"), per_index=(
        int16("vtamper12_adc", "Tamper ADC: Vtamper12 ADC Value"),
        int16("vtamper2_adc", "Tamper ADC: Vtamper2 ADC Value"),
        int16("vtamper1_adc", "Tamper ADC: Vtamper1 ADC Value"),
    ), flatten=True),
    uint8("external_tamper_duration", "External Tamper Duration", unit="s"),
    # Same guide name as the field at 103/104 (which cover each one times
    # swaps between 4.0X and 4.10+), hence the suffix.
    uint16("general_cover_removed_detection_threshold_2",
           "General Cover Removed Detection Threshold (General CRDT), Gen 4 field", unit="s"),
    uint16("magnetic_tamper_duration", "Magnetic Tamper Duration", unit="s"),
    uint8("va_power_and_energy_calculation_method", "VA Power and Energy Calculation Method",
          enum={0: "Vrms * Irms", 1: "sqrt(W^2 + var^2)"}),
    BitGroup(2, (
        flag("bev_load_profile_lock_mode", "Locked Flags: BEV Load Profile Lock Mode", 0),
    )),
    uint8("most_significant_byte_for_reverse_energy_alarm_current_threshold",
          "Most Significant Byte For Reverse Energy Alarm Current Threshold"),
)

ET55 = TableSpec("ET55", "Meter Configuration", (
    Bytes("reserved", "Reserved", 3),
    BitGroup(1, (
        flag("consumption_based_tariff_enabled", "Consumption Based Tariff Enabled", 1),
        flag("step_tariff_enabled", "Step Tariff Enabled", 5),
    )),
    # Offset 4 in both columns: the "1" printed in the 4.0+ offset cell is the value.
    uint8("delta_time_adjustment_increment", "Delta Time Adjustment Increment", unit="s",
          desc="Seconds per minute for an EP16 delta clock adjustment (0..16)"),
    Bytes("reserved_5", "Reserved", 9),
    # Type UINT8 with the default "-84dB": the sign's encoding is not given.
    uint8("signal_strength_threshold", "Signal Strength Threshold",
          desc="Guide default -84 dB (accept every PLC message); raw byte shown"),
    uint16("plc_active_timeout", "PLC Active Timeout", unit="min"),
    # Printed "17..51", but fields follow at 20..23: reserved is 17..19.
    Bytes("reserved_17", "Reserved", 3),
    uint8("plc_failed_authentication_lockout_threshold",
          "PLC Failed Authentication Lockout Threshold"),
    uint8("plc_failed_authentication_lockout_duration",
          "PLC Failed Authentication Lockout Duration", unit="min"),
    uint8("optical_failed_authentication_lockout_threshold",
          "Optical Failed Authentication Lockout Threshold"),
    uint8("optical_failed_authentication_lockout_duration",
          "Optical Failed Authentication Lockout Duration", unit="min"),
    Bytes("reserved_24", "Reserved", 28),
    When(GEN4, (
        Chars("scheduled_lcd_message_id", "Scheduled LCD Message ID (FTa Message OBIS Code)", 5),
    ), otherwise=(
        Chars("scheduled_lcd_message_id", "Scheduled LCD Message ID (FTa Message OBIS Code)", 4),
    )),
    Set("scheduled_lcd_message_id_decimal_point_state",
        "Scheduled LCD Message ID Decimal Point State (FTa Message OBIS Code Decimal Point)", 1,
        flags=DECIMAL_POINTS),
    Chars("scheduled_lcd_message_text", "Scheduled LCD Message Text (Remaining FTa Message "
          "Characters)", 8),
    LTimeDate("scheduled_lcd_message_display_start_time",
              "Scheduled LCD Message Display Start Time"),
    LTimeDate("scheduled_lcd_message_display_end_time", "Scheduled LCD Message Display End Time"),
    BitGroup(1, (
        flag("disable_message_override", "Scheduled LCD and FTa Message Override Control: "
             "Disable Message Override", 0),
        flag("message_overridden", "Scheduled LCD and FTa Message Override Control: "
             "Message Overridden", 1),
        flag("disable_scheduled_lcd_message_in_scrolling_list",
             "Scheduled LCD and FTa Message Override Control: Disable Scheduled LCD Message In "
             "Scrolling List", 2),
    )),
    uint16("phase_loss_threshold_seconds", "Phase Loss Threshold Seconds", unit="s"),
    BitGroup(1, (
        flag("disable_consumption_based_tariff", "Disable Consumption Based Tariff", 1),
        flag("disable_step_tariff", "Disable Step Tariff", 3),
    )),
    uint32("over_power_threshold", "Over Power Threshold", unit="W"),
    uint16("over_power_time_threshold", "Over Power Time Threshold", unit="s"),
    uint8("over_power_threshold_tier", "Over Power Threshold Tier"),
    uint8("over_power_source", "Over Power Source", enum=POWER_SOURCES),
    Bytes("reserved_90", "Reserved", 4),
    uint8("transformer_secondary_rated_current", "Transformer Secondary Rated Current"),
    uint32("clock_error_calendar_id", "Clock Error Calendar ID", hex=True),
    uint32("over_power_calendar_id", "Over Power Calendar ID", hex=True),
    uint8("reserved_103", "Reserved"),
    uint16("general_cover_removed_detection_threshold",
           "General Cover Removed Detection Threshold (General CRDT)", unit="s"),
    uint16("power_quality_cover_removed_detection_threshold",
           "Power Quality Cover Removed Detection Threshold (Power Quality CRDT)", unit="s"),
    BitGroup(2, (
        flag("phase_loss", "Cover Tamper Power Quality Events Mask: Phase Loss", 0),
        flag("current_on_missing_or_unused_phase",
             "Cover Tamper Power Quality Events Mask: Current on Missing Or Unused Phase", 1),
        flag("subsequent_power_outage",
             "Cover Tamper Power Quality Events Mask: Subsequent Power Outage", 2),
        flag("preceding_or_coincident_power_outage",
             "Cover Tamper Power Quality Events Mask: Preceding or Coincident Power Outage", 3),
    )),
    uint8("primary_load_profile_index", "Primary Load Profile Index", enum={
        0: "Data Set 1", 1: "Data Set 2", 2: "Data Set 3", 3: "Data Set 4"}),
    int16("high_frequency_noise_detection_threshold", "High Frequency Noise Detection Threshold"),
    uint16("high_frequency_noise_detection_time_threshold",
           "High Frequency Noise Detection Time Threshold", unit="s"),
    uint16("earth_fault_detection_current_threshold", "Earth Fault Detection Current Threshold",
           unit="mA"),
    uint8("reserved_117", "Reserved"),
    uint16("earth_fault_time_threshold", "Earth Fault Time Threshold"),
    uint16("broken_mv_conductor_detection_time_threshold",
           "Broken MV Conductor Detection Time Threshold"),
    uint16("zero_fault_detection_time_threshold", "Zero Fault Detection Time Threshold",
           unit="s"),
    uint8("normal_voltage_upper_limit", "Normal Voltage Upper Limit", unit="%"),
    uint8("normal_voltage_lower_limit", "Normal Voltage Lower Limit", unit="%"),
    uint8("low_voltage_higher_limit", "Low Voltage Higher Limit", unit="%"),
    uint8("voltage_fluctuation_limit", "Voltage Fluctuation Limit", unit="%"),
    # Not listed: the guide goes from 126 (127) straight to 128 (129).
    uint8("reserved_128", "Reserved (unlisted)"),
    Array("prepay_tier_5_8_rates", "Prepay Tier 5..8 Rates", 4,
          uint32("rate", "Prepay Tier Rate", unit="Wh/kWh")),
    uint16("reverse_energy_alarm_current_threshold", "Reverse Energy Alarm Current Threshold",
           unit="mA"),
    Array("step_tariff_thresholds", "Step Tariff Thresholds", sub(BT20_NBR_TIERS, 1),
          uint32("threshold", "Step Tariff Threshold",
                 desc="In Energy Register Unit multiples of Wh; 0 = tier not used")),
    uint8("step_tariff_source", "Step Tariff Source", enum=STEP_TARIFF_SOURCES),  # A
    uint32("step_tariff_tou_id", "Step Tariff TOU ID", hex=True),
    uint8("step_tariff_reset_day", "Step Tariff Reset Day"),
    uint8("step_tariff_reset_hour", "Step Tariff Reset Hour"),
    uint8("step_tariff_reset_minute", "Step Tariff Reset Minute"),
    uint8("step_tariff_reset_second", "Step Tariff Reset Second"),
    uint8("reserved_a9", "Reserved"),
    uint16("nbr_mains_cycles_used_for_consecutive_rms_voltage_calculation",
           "Number of Mains Cycles Used For Consecutive RMS Voltage Calculation",
           unit="cycles"),
    uint16("nbr_seconds_for_average_rms_voltage_calculations",
           "Number of Seconds For Average RMS Voltage Calculations", unit="s"),
    uint16("nbr_average_rms_voltage_used_for_nlc_and_nlp_calculation",
           "Number of Average RMS Voltage Used for nlc and nlp calculation"),
    uint32("delta_adsup", "Delta ADSUP", unit="mV"),
    uint32("delta_adinf", "Delta ADINF", unit="mV"),
    uint32("delta_prsup", "Delta PRSUP", unit="mV"),
    uint32("delta_prinf", "Delta PRINF", unit="mV"),
    uint16("mvd_detection_time_threshold_lower_limit",
           "Momentary Voltage Disturbance (MVD) Detection Time Threshold Lower Limit",
           unit="cycles"),
    uint16("mvd_detection_time_threshold_upper_limit",
           "MVD Detection Time Threshold Upper Limit", unit="cycles"),
    uint8("mvd_interruption_sag_low_vrms_threshold", "MVD Interruption Sag Low Vrms Threshold",
          unit="%"),
    uint8("mvd_sag_high_vrms_threshold", "MVD Sag High Vrms Threshold", unit="%"),
    uint8("mvd_swell_low_vrms_threshold", "MVD Swell Low Vrms Threshold", unit="%"),
    # At A+39 (the load profile section's cross-reference "ET55.A+3" is cut short).
    uint8("energy_register_unit", "Energy Register Unit", enum={
        1: "1 Wh/varh", 10: "10 Wh/varh", 100: "100 Wh/varh"}),
    When(GEN4, _GEN4_TAIL),
))

TABLES = (ET23, ET29, ET55)
