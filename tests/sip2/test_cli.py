"""`netzone sip-account ...` and `netzone sip2` against a database of their own."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from typing import Any

from sqlalchemy import text

from app.db import Database
from tests.support.cli import run_cli, said
from tests.support.sip2 import SipClient, with_error_detection


async def _accounts(database: Database) -> list[tuple[Any, ...]]:
    async with database.session() as session:
        rows = await session.execute(
            text(
                "SELECT login_id, library_id IS NOT NULL, attribute_fields, enabled"
                " FROM sip_account ORDER BY login_id"
            )
        )
        return [tuple(r) for r in rows.all()]


async def test_operators_create_list_and_update_accounts(
    cli_database: Database,
) -> None:
    database = cli_database
    created = await run_cli(
        "sip-account",
        "create",
        "--institution",
        "NEKLS",
        "--login-id",
        "hoopla",
        "--library",
        "LANSING",
        "--attribute",
        "KANOPY_LANSING:XK:LABEL",
    )
    assert created.exit_code == 0, created.output
    assert "Created SIP account 'hoopla' of NEKLS." in said(created)
    # No secret given: a random one is printed once
    secret = created.output.strip().splitlines()[-1]
    assert len(secret) >= 20
    listed = await run_cli("sip-account", "list", "--institution", "NEKLS")
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        "SIP accounts of NEKLS: 3",
        "hoopla: library LANSING, UTF-8, AO INSTITUTION, home library as AF no, "
        "attribute fields [KANOPY_LANSING in XK (LABEL)], empty PIN no, enabled",
        "kanopy-lansing: library LANSING, UTF-8, AO INSTITUTION, home library as AF no, "
        "attribute fields [KANOPY_LANSING in XK (CODE)], empty PIN no, enabled",
        "nekls-vendor: library (all), UTF-8, AO HOME_LIBRARY, home library as AF yes, "
        "attribute fields [], empty PIN no, enabled",
    ]
    assert secret not in listed.output
    disabled = await run_cli("sip-account", "update", "hoopla", "--disable")
    assert disabled.exit_code == 0, disabled.output
    accounts = await _accounts(database)
    assert accounts[0][0] == "hoopla"
    assert (accounts[0][1], accounts[0][3]) == (True, False)


async def test_refusals_name_the_problem_and_change_nothing(
    cli_database: Database,
) -> None:
    database = cli_database
    before = await _accounts(database)
    refused = await run_cli(
        "sip-account",
        "create",
        "--institution",
        "NEKLS",
        "--login-id",
        "basehor-kanopy",
        "--secret",
        "basehor-secret",
        "--library",
        "BASEHOR",
        "--attribute",
        "KANOPY_LANSING:XK",
    )
    assert refused.exit_code == 1
    assert (
        "ATTRIBUTE_FORBIDDEN (input.attributeFields.0): Kanopy (LANSING) can only be sent "
        "by SIP accounts of LANSING." in said(refused)
    )
    malformed = await run_cli(
        "sip-account", "create", "--institution", "NEKLS", "--login-id", "x", "--attribute", "XK"
    )
    assert malformed.exit_code == 2
    assert await _accounts(database) == before


async def test_the_sip2_command_serves_the_database(cli_database: Database) -> None:
    url = str(cli_database.engine.url)
    environment = {**os.environ, "DATABASE_URL": url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from app.cli import main; main()",
        "sip2",
        "--port",
        "0",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        port = None
        async with asyncio.timeout(60):
            while port is None:
                line = (await process.stdout.readline()).decode()
                assert line, "netzone sip2 ended before listening"
                if match := re.search(r"SIP2 listening on 127\.0\.0\.1:(\d+)", line):
                    port = int(match.group(1))
        client = await SipClient.connect(port)
        await client.send(with_error_detection("9300CNnekls-vendor|COnetzone-demo|", 0))
        assert await client.receive() == b"941AY0AZFDFD\r"
        await client.close()
    finally:
        process.terminate()
        await process.wait()


async def test_operators_delete_accounts(cli_database: Database) -> None:
    database = cli_database
    deleted = await run_cli("sip-account", "delete", "kanopy-lansing")
    assert deleted.exit_code == 0, deleted.output
    assert "Deleted SIP account 'kanopy-lansing'." in said(deleted)
    assert [row[0] for row in await _accounts(database)] == ["nekls-vendor"]
    async with database.session() as session:
        action = await session.scalar(
            text("SELECT actor_name FROM audit_entry WHERE action = 'delete_sip_account'")
        )
    assert action == "cli"
    missing = await run_cli("sip-account", "delete", "kanopy-lansing")
    assert missing.exit_code == 1
    assert "NOT_FOUND (input.loginId): There is no SIP account 'kanopy-lansing'." in said(missing)
