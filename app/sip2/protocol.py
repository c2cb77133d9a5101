"""SIP2 2.00 framing: parsing requests, formatting responses, checksums.

Everything here works on bytes: field codes, separators and the fixed parts are ASCII,
and neither UTF-8 nor CP850 puts a byte below 0x80 inside a multi-byte character, so a
message can be split before its values are decoded with the account's encoding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

TERMINATOR = b"\r"
SEPARATOR = b"|"

# Python codec of each encoding an account may choose.
CODECS = {"UTF-8": "utf-8", "CP850": "cp850"}

# Length of the fixed part (after the two-digit code) of every request of SIP2 2.00.
FIXED_LENGTHS = {
    "93": 2,  # UID algorithm, PWD algorithm
    "99": 8,  # status code, max print width (3), protocol version (4)
    "23": 21,  # language (3), transaction date (18)
    "63": 31,  # language (3), transaction date (18), summary (10)
    "35": 18,  # transaction date (18)
    "97": 0,
    # Not offered (answered with ok 0), but read as the standard lays them out:
    "01": 19,  # card retained (1), transaction date (18)
    "09": 37,  # no block (1), transaction date (18), return date (18)
    "11": 38,  # SC renewal policy (1), no block (1), transaction date, nb due date
    "15": 19,  # hold mode (1), transaction date (18)
    "17": 18,  # transaction date
    "19": 18,  # transaction date
    "25": 18,  # transaction date
    "29": 38,  # third party allowed (1), no block (1), transaction date, nb due date
    "37": 25,  # transaction date, fee type (2), payment type (2), currency type (3)
    "65": 18,  # transaction date
}

# Every request code of SIP2 2.00 (SC to ACS).
REQUEST_CODES = frozenset(FIXED_LENGTHS)

# Requests whose fixed part netzone reads, checked field by field (a date with month 13,
# letters in a count, a summary with two Y are refused with 96, never taken silently).
_DATE = r"(\d{4})(\d{2})(\d{2})[ A-Z0-9]{4}(\d{2})(\d{2})(\d{2})"
_FIXED_SHAPES = {
    "93": re.compile(r"[0-9 ]{2}"),
    "99": re.compile(r"[012][ \d]{3}\d\.\d\d"),
    "23": re.compile(r"\d{3}" + _DATE),
    "63": re.compile(r"\d{3}" + _DATE + r"[ Y]{10}"),
    "35": re.compile(_DATE),
}

# The BX field of the ACS status: Y for patron status, SC/ACS status, resend, login,
# patron information and end patron session, in the order of the standard.
SUPPORTED_MESSAGES = "YNNNYYYYYNNNNNNN"

# A trailing error-detection part: optional sequence number, then the checksum. Four
# hex digits is the standard; shorter ones are accepted because some clients drop the
# leading zeros (the `sip2` client on PyPI formats the sum without padding).
_TRAILER = re.compile(rb"(?:AY([0-9]))?AZ([0-9A-Fa-f]{1,4})$")
_SEQUENCE_ONLY = re.compile(rb"AY([0-9])$")
_FIELD_CODE = re.compile(rb"[A-Z0-9]{2}")


class MalformedMessage(Exception):
    """The bytes are not a SIP2 request netzone can read."""


class ChecksumMismatch(MalformedMessage):
    """The message carries a checksum that does not match its bytes."""


def checksum(data: bytes) -> str:
    """Two's complement of the 16-bit sum of the bytes, as 4 upper-case hex digits."""
    return f"{-sum(data) & 0xFFFF:04X}"


@dataclass(frozen=True)
class Request:
    """A parsed request: code, fixed part, variable fields (raw bytes) and error detection."""

    code: str
    fixed: str
    fields: dict[str, list[bytes]] = field(default_factory=dict)
    sequence: str | None = None
    error_detection: bool = False

    def text(self, code: str, codec: str) -> str | None:
        """The first value of a field, decoded; None when the field is absent."""
        values = self.fields.get(code)
        if not values:
            return None
        return values[0].decode(codec, errors="replace")


def parse(raw: bytes) -> Request:
    """Parse one message (without its CR); raise MalformedMessage or ChecksumMismatch."""
    if len(raw) < 2 or not raw[:2].isdigit():
        raise MalformedMessage("a message starts with a two-digit code")
    body = raw
    sequence: str | None = None
    error_detection = False
    trailer = _TRAILER.search(raw)
    if trailer is not None:
        error_detection = True
        upto_az = raw[: trailer.start(2)]
        if (sum(upto_az) + int(trailer.group(2), 16)) & 0xFFFF != 0:
            raise ChecksumMismatch("checksum does not match")
        sequence = trailer.group(1).decode("ascii") if trailer.group(1) else None
        body = raw[: trailer.start()]
    else:
        sequence_only = _SEQUENCE_ONLY.search(raw)
        if sequence_only is not None:
            sequence = sequence_only.group(1).decode("ascii")
            body = raw[: sequence_only.start()]
    code = body[:2].decode("ascii")
    if code not in REQUEST_CODES:
        raise MalformedMessage(f"unknown message code {code}")
    length = FIXED_LENGTHS.get(code, 0)
    fixed = body[2 : 2 + length]
    if len(fixed) < length:
        raise MalformedMessage(f"message {code} is shorter than its fixed part")
    try:
        fixed_text = fixed.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MalformedMessage("the fixed part is not ASCII") from exc
    _check_fixed(code, fixed_text)
    fields: dict[str, list[bytes]] = {}
    for part in body[2 + length :].split(SEPARATOR):
        if not part:
            continue
        if not _FIELD_CODE.fullmatch(part[:2]):
            raise MalformedMessage("a variable field starts with a two-character code")
        fields.setdefault(part[:2].decode("ascii"), []).append(part[2:])
    return Request(
        code=code,
        fixed=fixed_text,
        fields=fields,
        sequence=sequence,
        error_detection=error_detection,
    )


def _check_fixed(code: str, fixed: str) -> None:
    """Refuse a fixed part that does not read as the standard lays it out."""
    shape = _FIXED_SHAPES.get(code)
    if shape is None:
        return
    match = shape.fullmatch(fixed)
    if match is None:
        raise MalformedMessage(f"the fixed part of message {code} is not well formed")
    if code in ("23", "63", "35"):
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        try:
            datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError as exc:
            raise MalformedMessage(f"message {code} has no valid transaction date") from exc
    if code == "63" and fixed[21:].count("Y") > 1:
        raise MalformedMessage("the summary of message 63 asks for more than one list")


_UNSAFE = re.compile(r"[|\x00-\x1f\x7f]")


def clean(value: str) -> str:
    """A value that cannot break framing: no separator, terminator or control characters."""
    return _UNSAFE.sub(" ", value)


def format_response(
    code: str,
    fixed: Sequence[str],
    fields: Sequence[tuple[str, str]],
    *,
    codec: str,
    error_detection: bool,
    sequence: str | None = None,
) -> bytes:
    """A complete response: fixed part, `XXvalue|` fields, AY/AZ when the client uses them, CR."""
    text = code + "".join(fixed) + "".join(f"{fid}{clean(value)}|" for fid, value in fields)
    data = text.encode(codec, errors="replace")
    if error_detection:
        if sequence is not None:
            data += b"AY" + sequence.encode("ascii")
        data += b"AZ"
        data += checksum(data).encode("ascii")
    return data + TERMINATOR


def sip_datetime(moment: datetime) -> str:
    """YYYYMMDDZZZZHHMMSS with a blank zone: the time is local (the network's time zone)."""
    return moment.strftime("%Y%m%d    %H%M%S")


def count(value: int) -> str:
    """A 4-digit count field (9999 at most)."""
    return f"{max(0, min(value, 9999)):04d}"


def flag(value: bool) -> str:
    return "Y" if value else "N"
