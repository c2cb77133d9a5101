"""SIP2 tried as an attacker would: harvesting patron data without PINs, and telling
known barcodes from unknown ones by how they lock."""

from __future__ import annotations

import asyncio

import pytest

from app.db import Database
from app.settings import Settings
from tests.reliability.counts import record
from tests.support.sip2 import Patrons, SipClient, running_server

DENIED = "YYYY" + " " * 10
NOTHING_ABOUT_THE_PATRON = ("PC", "PA", "XK", "XL", "BV", "BZ", "CB")


@pytest.mark.parametrize("pin", [None, "", "not-the-pin"])
@pytest.mark.parametrize("message", ["63", "23"])
async def test_no_pin_no_data(
    sip: SipClient, patrons: Patrons, pin: str | None, message: str
) -> None:
    # Given the Kanopy vendor logged in, and a LANSING patron with the entitlement
    await patrons.create("T-LAN-1")
    await sip.login()
    # When it asks about the patron without the right PIN
    if message == "63":
        info = await sip.patron_information("T-LAN-1", pin=pin)
    else:
        info = await sip.patron_status("T-LAN-1", pin=pin or "")
    # Then it learns that the card is valid and the PIN is not, and nothing else
    assert info.fixed["status"] == DENIED
    assert info.get("AE") == [""]
    assert (info.get("BL"), info.get("CQ")) == (["Y"], ["N"])
    for field in NOTHING_ABOUT_THE_PATRON:
        assert info.get(field) == [], (field, info.raw)
    if message == "63":
        assert (info.fixed["charged"], info.fixed["overdue"]) == ("0000", "0000")
    record("sip2 attacks: requests without a valid PIN", 1)


async def test_unknown_barcodes_lock_like_known_ones(sip: SipClient, patrons: Patrons) -> None:
    await patrons.create("T-LAN-1")
    await sip.login()
    answers: dict[str, list[tuple[list[str], list[str]]]] = {}
    for barcode in ("T-LAN-1", "NO-SUCH-CARD"):
        answers[barcode] = []
        for n in range(11):
            info = await sip.patron_information(barcode, pin=f"wrong-{n}")
            answers[barcode].append((info.get("CQ"), info.get("AF")))
    # Both: ten wrong PINs answered CQ N, then locked with the same words
    assert answers["T-LAN-1"] == answers["NO-SUCH-CARD"]
    assert answers["NO-SUCH-CARD"][-1][1] == [
        "This account is locked after too many wrong PINs. Try again later."
    ]
    record("sip2 attacks: lockout probes", 22)


async def _held(server_port: int, count: int) -> list[SipClient]:
    clients = []
    for _ in range(count):
        client = SipClient.on_first_use(server_port)
        await client.open()
        clients.append(client)
    return clients


async def test_one_address_cannot_take_every_connection(
    database: Database, sip_settings: Settings
) -> None:
    settings = sip_settings.model_copy(
        update={"sip2_max_connections_per_address": 3, "sip2_login_timeout_seconds": 30.0}
    )
    async with running_server(database, settings) as server:
        held = await _held(server.port, 3)
        try:
            # The fourth connection from the same address is closed at once
            extra = SipClient.on_first_use(server.port)
            assert await extra.closed_by_server(within=5)
            await extra.close()
            # While the three held go on being served
            assert (await held[0].exchange(b"990 402.00AY1AZFCB4\r")).code == "98"
        finally:
            for client in held:
                await client.close()
    record("sip2 attacks: connections refused", 1)


async def test_a_connection_that_does_not_log_in_is_closed(
    database: Database, sip_settings: Settings
) -> None:
    settings = sip_settings.model_copy(
        update={"sip2_login_timeout_seconds": 0.5, "sip2_idle_timeout_seconds": 30.0}
    )
    async with running_server(database, settings) as server:
        silent = SipClient.on_first_use(server.port)
        assert await silent.closed_by_server(within=5)
        await silent.close()
        # One that logs in stays open past that time
        logged = SipClient.on_first_use(server.port)
        assert (await logged.login()).fixed == {"ok": "1"}
        await asyncio.sleep(1.0)
        assert (await logged.exchange(b"990 402.00AY1AZFCB4\r")).code == "98"
        await logged.close()
    record("sip2 attacks: idle connections closed", 1)


async def test_one_sip_account_has_a_connection_limit(
    database: Database, sip_settings: Settings
) -> None:
    settings = sip_settings.model_copy(update={"sip2_max_connections_per_account": 2})
    async with running_server(database, settings) as server:
        clients = [SipClient.on_first_use(server.port) for _ in range(3)]
        try:
            answers = [(await c.login()).fixed["ok"] for c in clients]
            assert answers == ["1", "1", "0"]
            # When one logs out (closes), another may log in
            await clients[0].close()
            await asyncio.sleep(0.2)
            assert (await clients[2].login()).fixed == {"ok": "1"}
        finally:
            for client in clients[1:]:
                await client.close()
    record("sip2 attacks: logins over the account limit", 1)
