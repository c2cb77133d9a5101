"""The network's structure as the tests drive it: patron value choices and the audit trail
of structural changes."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL

ADD = """mutation($input: AddPatronValueChoiceInput!) {
  addPatronValueChoice(input: $input) {
    choice { kind value description } institution { code cohorts { value } }
    errors { code message field }
  }
}"""


REMOVE = """mutation($input: RemovePatronValueChoiceInput!) {
  removePatronValueChoice(input: $input) {
    removedValue patronsMoved institution { code } errors { code message field }
  }
}"""


async def add(
    gql: GraphQL, token: str, kind: str, value: str, institution: str = "NEKLS", **more: Any
) -> dict[str, Any]:
    input_ = {"institution": institution, "kind": kind, "value": value, **more}
    payload: dict[str, Any] = (await gql.ok(ADD, {"input": input_}, token))["addPatronValueChoice"]
    return payload


async def remove(
    gql: GraphQL, token: str, kind: str, value: str, institution: str = "NEKLS", **more: Any
) -> dict[str, Any]:
    input_ = {"institution": institution, "kind": kind, "value": value, **more}
    data = await gql.ok(REMOVE, {"input": input_}, token)
    payload: dict[str, Any] = data["removePatronValueChoice"]
    return payload


async def audit_entries(connection: AsyncConnection, action: str) -> list[dict[str, Any]]:
    """Audit entries of an action written by people (the demo's own are left out)."""
    rows = await connection.execute(
        text(
            "SELECT actor_name, action, entity_type, entity_id, institution_id, library_id, "
            "changes "
            "FROM audit_entry WHERE action = :action AND actor_name <> 'demo' ORDER BY id"
        ),
        {"action": action},
    )
    entries = [dict(r._mapping) for r in rows]
    for entry in entries:
        if isinstance(entry["changes"], str):
            entry["changes"] = json.loads(entry["changes"])
    return entries
