"""SIP2 2.00 framing: parsing requests, formatting responses, checksums.

Everything here works on bytes: field codes, separators and the fixed parts are ASCII,
and neither UTF-8 nor CP850 puts a byte below 0x80 inside a multi-byte character, so a
message can be split before its values are decoded with the account's encoding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

TERMINATOR = b"\r"
SEPARATOR = b"|"

# Python codec of each encoding an account may choose.
CODECS = {"UTF-8": "utf-8", "CP850": "cp850"}

# Length of the fixed part (after the two-digit code) of the requests netzone answers.
FIXED_LENGTHS = {
    "93": 2,  # UID algorithm, PWD algorithm
    "99": 8,  # status code, max print width (3), protocol version (4)
    "23": 21,  # language (3), transaction date (18)
    "63": 31,  # language (3), transaction date (18), summary (10)
    "35": 18,  # transaction date (18)
    "97": 0,
}

# Every request code of SIP2 2.00 (SC to ACS); the ones not in FIXED_LENGTHS are
# well-formed but not offered (see SUPPORTED_MESSAGES) and are ignored.
REQUEST_CODES = frozenset(
    {"01", "09", "11", "15", "17", "19", "23", "25", "29", "35", "37", "63", "65", "93", "97", "99"}
)

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
