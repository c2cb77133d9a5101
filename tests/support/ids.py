"""The database id inside an opaque global id, for the few checks the tests make in SQL."""

from __future__ import annotations

import base64


def pk_of(global_id: str, type_name: str | None = None) -> int:
    """The primary key inside a global id (of `type_name`, when given)."""
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    found, _, pk = raw.partition(":")
    if type_name is not None:
        assert found == type_name, raw
    return int(pk)


def patron_pk(global_id: str) -> int:
    """The primary key inside a Patron's global id."""
    return pk_of(global_id, "Patron")
