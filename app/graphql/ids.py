"""Opaque global ids and cursors."""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from graphql import GraphQLError

from app.keys import CURSOR, deployment_key


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


class BadCursor(GraphQLError):
    """`after` is not a cursor this list gave out."""

    def __init__(self) -> None:
        super().__init__(
            "The cursor in `after` is not one this list gave out: it was altered, comes "
            "from another list, other arguments or another deployment. Start again "
            "without `after`.",
            extensions={"code": "INVALID_INPUT", "argument": "after"},
        )


async def cursors(info: Any, *binding: object) -> Cursors:
    """The cursors of one list: sealed with this deployment's key (AES-GCM), bound to
    the list and its arguments (`binding`), so they carry nothing readable (names in
    keyset positions) and cannot be forged, altered or moved to another list."""
    async with info.context.db.use() as session:
        key = await deployment_key(session, info.context.settings, CURSOR)
    return Cursors(key, orjson.dumps([str(b) for b in binding]))


class Cursors:
    def __init__(self, key: bytes, binding: bytes) -> None:
        self._aead = AESGCM(key)
        self._binding = binding

    def encode(self, *parts: object) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, orjson.dumps(list(parts)), self._binding)
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def decode(self, value: str | None) -> list[object] | None:
        """The position a cursor holds; None without one; BadCursor for anything else."""
        if value is None or value == "":
            return None
        try:
            raw = base64.urlsafe_b64decode((value + "=" * (-len(value) % 4)).encode())
            parsed = orjson.loads(self._aead.decrypt(raw[:12], raw[12:], self._binding))
        except (binascii.Error, ValueError, InvalidTag, orjson.JSONDecodeError):
            raise BadCursor() from None
        if not isinstance(parsed, list):
            raise BadCursor()
        return parsed

    def position(self, value: str | None, *kinds: type) -> tuple[Any, ...] | None:
        """The position of a cursor whose parts are of these types (else BadCursor)."""
        parts = self.decode(value)
        if parts is None:
            return None
        if len(parts) != len(kinds) or not all(
            isinstance(p, k) and not isinstance(p, bool) for p, k in zip(parts, kinds, strict=True)
        ):
            raise BadCursor()
        return tuple(parts)
