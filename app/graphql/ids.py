"""Opaque global ids and cursors."""

from __future__ import annotations

import base64
import binascii

import orjson


def encode_id(type_name: str, pk: int) -> str:
    raw = f"{type_name}:{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Primary keys are 32-bit integers (SERIAL): larger numbers name nothing.
MAX_PK = 2**31 - 1


def decode_id(value: str, expected: str | None = None) -> tuple[str, int] | None:
    """(type name, primary key) of one of our ids in its one canonical spelling, else None.

    Spellings like "Patron:+7", "Patron:007" or "Patron:7_0" and numbers no column
    can hold are not ids of anything.
    """
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        padded = value + "=" * (-len(value) % 4)
        type_name, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not type_name or (expected is not None and type_name != expected):
        return None
    if number < 1 or number > MAX_PK or encode_id(type_name, number) != value:
        return None
    return type_name, number


def decode_pk(value: str, expected: str) -> int | None:
    decoded = decode_id(value, expected)
    return decoded[1] if decoded else None


def encode_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


def decode_cursor(value: str | None) -> list[object] | None:
    if not value:
        return None
    try:
        padded = value + "=" * (-len(value) % 4)
        parsed = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    return parsed if isinstance(parsed, list) else None
