"""`netzone check-grants`: grants made before the delegation rule, found for review.

The rule refuses these grants through every path today, so the tests write them the way an
older deployment would have left them: straight into the database, with the audit entries
the old paths wrote.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import Database
from app.lifecycle.grants import GrantFinding, check_grants
from tests.support.cli import run_cli


async def scalar(connection: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await connection.execute(text(sql), params)).scalar_one()


async def findings(database: Database) -> list[GrantFinding]:
    async with database.session() as session:
        return await check_grants(session)


async def audit(
    connection: AsyncConnection,
    *,
    actor: str,
    library: str,
    action: str,
    entity_type: str,
    entity_id: int,
    changes: dict[str, Any],
) -> int:
    actor_id = await scalar(connection, "SELECT id FROM patron WHERE username = :u", u=actor)
    library_id = await scalar(connection, "SELECT id FROM library WHERE code = :c", c=library)
    institution_id = await scalar(
        connection, "SELECT institution_id FROM library WHERE id = :i", i=library_id
    )
    await connection.execute(
        text(
            "INSERT INTO audit_entry (at, institution_id, actor_patron_id, actor_name, "
            "library_id, action, entity_type, entity_id, changes) VALUES (CURRENT_TIMESTAMP, "
            ":inst, :actor, :name, :lib, :action, :etype, :eid, :changes)"
        ),
        {
            "inst": institution_id,
            "actor": actor_id,
            "name": actor,
            "lib": library_id,
            "action": action,
            "etype": entity_type,
            "eid": entity_id,
            "changes": json.dumps(changes),
        },
    )
    entry_id: int = await scalar(connection, "SELECT max(id) FROM audit_entry")
    return entry_id


async def test_a_clean_network_has_nothing_to_review(database: Database) -> None:
    assert await findings(database) == []


async def test_grants_made_around_the_rule_are_listed(
    database: Database, connection: AsyncConnection
) -> None:
    library = {
        code: await scalar(connection, "SELECT id FROM library WHERE code = :c", c=code)
        for code in ("LANSING", "BASEHOR")
    }
    nekls = await scalar(connection, "SELECT id FROM institution WHERE code = 'NEKLS'")
    # basehor.librarian gave itself LANSING (before the rule)
    ben = await scalar(connection, "SELECT id FROM patron WHERE username = 'basehor.librarian'")
    await connection.execute(
        text("DELETE FROM patron_library_access WHERE patron_id = :p"), {"p": ben}
    )
    for code in ("BASEHOR", "LANSING"):
        await connection.execute(
            text("INSERT INTO patron_library_access (patron_id, library_id) VALUES (:p, :l)"),
            {"p": ben, "l": library[code]},
        )
    entry = await audit(
        connection,
        actor="basehor.librarian",
        library="BASEHOR",
        action="update_patron",
        entity_type="Patron",
        entity_id=ben,
        changes={"libraries": {"before": [], "after": ["BASEHOR", "LANSING"]}},
    )
    # nekls.admin, at BASEHOR, made a Kanopy client for BASEHOR, and one naming no type
    for name, scope, at in (
        ("Leaky", "attribute:KANOPY_LANSING", library["BASEHOR"]),
        ("Ghost", "attribute:NO_SUCH_TYPE", library["LANSING"]),
    ):
        await connection.execute(
            text(
                "INSERT INTO api_client (institution_id, library_id, name, token_hash, scopes, "
                "enabled, created_at) VALUES (:i, :l, :n, :h, :s, :e, CURRENT_TIMESTAMP)"
            ),
            {"i": nekls, "l": at, "n": name, "h": name * 8, "s": json.dumps([scope]), "e": True},
        )
    leaky = await scalar(connection, "SELECT id FROM api_client WHERE name = 'Leaky'")
    ghost = await scalar(connection, "SELECT id FROM api_client WHERE name = 'Ghost'")
    client_entry = await audit(
        connection,
        actor="nekls.admin",
        library="BASEHOR",
        action="create_api_client",
        entity_type="ApiClient",
        entity_id=leaky,
        changes={"scopes": {"before": None, "after": ["attribute:KANOPY_LANSING"]}},
    )
    # a SIP account of BASEHOR sending the Kanopy value
    await connection.execute(
        text(
            "INSERT INTO sip_account (login_id, secret_hash, institution_id, library_id, "
            "encoding, ao_mode, home_library_screen_message, attribute_fields, "
            "allow_empty_pin, enabled, created_at, updated_at) VALUES ('basehor-vendor', 'x', "
            ":i, :l, 'UTF-8', 'INSTITUTION', :f, :af, :f, :t, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)"
        ),
        {
            "i": nekls,
            "l": library["BASEHOR"],
            "af": json.dumps([{"type": "KANOPY_LANSING", "field": "XK", "send": "CODE"}]),
            "f": False,
            "t": True,
        },
    )
    # NORTHFIELD's only administrator disabled
    await connection.execute(
        text("UPDATE patron SET enabled = :f WHERE username = 'northfield.admin'"), {"f": False}
    )

    found = await findings(database)

    date = await scalar(connection, "SELECT at FROM audit_entry WHERE id = :i", i=entry)
    day = str(date)[:10]
    assert found == [
        GrantFinding(
            "ACCOUNT",
            "NEKLS",
            f"basehor.librarian (account {ben})",
            "may log in at LANSING as staff, granted by basehor.librarian logged in at "
            f"BASEHOR, which does not hold LANSING (audit entry {entry}, {day}).",
        ),
        GrantFinding(
            "API_CLIENT",
            "NEKLS",
            f"Leaky (id {leaky})",
            "carries Kanopy (LANSING) (KANOPY_LANSING) but its library is BASEHOR, not one of "
            "LANSING.",
        ),
        GrantFinding(
            "API_CLIENT",
            "NEKLS",
            f"Leaky (id {leaky})",
            "Scope Kanopy (LANSING) (KANOPY_LANSING) was set by nekls.admin logged in at "
            f"BASEHOR, which may not see it (audit entry {client_entry}, {day}).",
        ),
        GrantFinding(
            "API_CLIENT",
            "NEKLS",
            f"Ghost (id {ghost})",
            "names attribute type NO_SUCH_TYPE, which does not exist.",
        ),
        GrantFinding(
            "SIP_ACCOUNT",
            "NEKLS",
            "basehor-vendor",
            "carries Kanopy (LANSING) (KANOPY_LANSING) but its library is BASEHOR, not one of "
            "LANSING.",
        ),
        GrantFinding(
            "INSTITUTION",
            "NORTHFIELD",
            "NORTHFIELD",
            "has no enabled SYSTEM_ADMIN: nobody can administer it (use `netzone bootstrap` "
            "or the database to restore one).",
        ),
    ]


async def test_the_command_reports_and_fails_only_when_there_is_something(
    cli_database: Database,
) -> None:
    clean = await run_cli("check-grants")
    assert clean.exit_code == 0, clean.output
    assert "No grants to review" in clean.output
    async with cli_database.session() as session:
        await session.execute(
            text("UPDATE patron SET enabled = :f WHERE username = 'northfield.admin'"),
            {"f": False},
        )
        await session.commit()
    dirty = await run_cli("check-grants")
    assert dirty.exit_code == 1, dirty.output
    assert "has no enabled SYSTEM_ADMIN" in " ".join(dirty.output.split())
    assert "1 grant(s) to review." in dirty.output
