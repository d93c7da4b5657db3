"""MEP request and response codes with their guide names.

A module of its own, importing nothing, so that the table catalog (which
names codes in manufacturer tables) and the frame declarations can both use it.
"""

REQUEST_CODES = {
    0x30: "Full Table Read",
    0x3F: "Partial Table Read",
    0x40: "Full Table Write",
    0x4F: "Partial Table Write",
}
TLS_TERMINATE, TLS_START, TLS_CONTINUE, TLS_TABLE = 0x57, 0x58, 0x59, 0x80
"""End the session; first handshake flight (resets any session); later flights; a request."""
TLS_REQUEST_CODES = {
    TLS_TERMINATE: "TLS Terminate",
    TLS_START: "TLS Handshake",
    TLS_CONTINUE: "TLS Handshake Continue",
    TLS_TABLE: "TLS Table",
}
OK, UNRECOGNIZED, UNSUPPORTED, NO_PERMISSION, NOT_POSSIBLE, TABLE_ERROR = range(6)
AUTH_FAILURE = 0x0B
"""Neither key verifies the request; the answer goes out in clear."""
SEQUENCE_ERROR = 0x0C
"""Wrong sequence number; the answer carries the one the meter expects."""
RESPONSE_CODES = {
    OK: "OK",
    UNRECOGNIZED: "Unrecognized request",
    UNSUPPORTED: "Unsupported request",
    NO_PERMISSION: "No permission for specified request",
    NOT_POSSIBLE: "Requested operation not possible",
    TABLE_ERROR: "Table operation not possible",
    AUTH_FAILURE: "Authentication failure",
    SEQUENCE_ERROR: "Invalid sequence number",
}
TLS_SUCCESS, TLS_FAILED, TLS_BAD_KEY, TLS_NO_SESSION = 0x00, 0x01, 0x03, 0x0A
TLS_RESPONSE_CODES = {
    TLS_SUCCESS: "Success",
    TLS_FAILED: "TLS error",
    TLS_BAD_KEY: "Invalid identity or key",
    TLS_NO_SESSION: "Invalid service sequence state",
}
