"""The SIP2 codec: checksums, parsing requests, formatting responses."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.sip2.protocol import (
    ChecksumMismatch,
    MalformedMessage,
    checksum,
    format_response,
    parse,
    sip_datetime,
)


def test_the_checksum_of_the_standard_example() -> None:
    assert checksum(b"990 402.00AY1AZ") == "FCB4"


def test_a_message_and_its_checksum_sum_to_zero() -> None:
    data = b"9300CNkanopy-lansing|COnetzone-demo|AY0AZ"
    assert (sum(data) + int(checksum(data), 16)) & 0xFFFF == 0
    # Small sums keep their leading zeros.
    assert checksum(b"\xff" * 257) == "0001"
    assert checksum(b"") == "0000"


def test_a_status_request_with_error_detection_is_parsed() -> None:
    request = parse(b"990 402.00AY1AZFCB4")
    assert (request.code, request.fixed, request.fields) == ("99", "0 402.00", {})
    assert (request.sequence, request.error_detection) == ("1", True)


def test_a_checksum_without_leading_zeros_is_accepted() -> None:
    # The `sip2` client on PyPI formats the sum without padding.
    body = b"9300CNx|COy|AY1AZ"
    value = int(checksum(body), 16)
    assert parse(body + f"{value:X}".encode()).code == "93"


def test_a_patron_information_request_is_split_into_fields() -> None:
    raw = b"63000" + b"20261124    101500" + b" " * 10 + b"AONEKLS|AA2100|AC|ADpin|BP1|BQ5|"
    request = parse(raw)
    assert request.code == "63"
    assert request.fixed == "000" + "20261124    101500" + " " * 10
    assert request.fields == {
        "AO": [b"NEKLS"],
        "AA": [b"2100"],
        "AC": [b""],
        "AD": [b"pin"],
        "BP": [b"1"],
        "BQ": [b"5"],
    }
    assert (request.sequence, request.error_detection) == (None, False)
    assert request.text("AD", "utf-8") == "pin"
    assert request.text("AE", "utf-8") is None


def test_a_wrong_checksum_is_detected() -> None:
    with pytest.raises(ChecksumMismatch):
        parse(b"990 402.00AY1AZFCB5")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"x",
        b"garbage",
        b"42 not a message",  # unknown code
        b"63000",  # shorter than its fixed part
        b"23000" + b"20261124    101500" + b"A|",  # a field without a code
        b"9300" + b"cnlower|",  # field codes are capitals and digits
    ],
)
def test_unreadable_messages_are_refused(raw: bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse(raw)


def test_responses_get_error_detection_only_when_asked() -> None:
    plain = format_response("94", ["1"], [], codec="utf-8", error_detection=False)
    assert plain == b"941\r"
    detected = format_response("94", ["1"], [], codec="utf-8", error_detection=True, sequence="3")
    assert detected == b"941AY3AZ" + checksum(b"941AY3AZ").encode() + b"\r"


def test_values_cannot_break_the_framing() -> None:
    raw = format_response(
        "24", [], [("AE", "Name|with\rcontrols\n")], codec="utf-8", error_detection=False
    )
    assert raw == b"24AEName with controls |\r"


def test_values_are_encoded_with_the_account_encoding() -> None:
    raw = format_response("24", [], [("AE", "Zoë")], codec="cp850", error_detection=False)
    assert raw == b"24AEZo\x89|\r"


def test_dates_are_local_with_a_blank_zone() -> None:
    assert sip_datetime(datetime(2026, 11, 24, 9, 5, 7)) == "20261124    090507"  # noqa: DTZ001
