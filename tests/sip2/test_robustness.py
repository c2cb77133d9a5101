"""Misbehaving clients hold up nobody: garbage, half messages, hang-ups, floods, idlers."""

from __future__ import annotations

import asyncio

from app.db import Database
from app.settings import Settings
from app.sip2.server import SipServer
from tests.support.sip2 import Patrons, SipClient, running_server, with_error_detection


async def test_a_stalled_half_message_does_not_hold_up_another_client(
    database: Database, sip_settings: Settings, patrons: Patrons
) -> None:
    await patrons.create("T-LAN-1")
    settings = sip_settings.model_copy(
        update={"sip2_read_timeout_seconds": 3.0, "sip2_idle_timeout_seconds": 30.0}
    )
    async with running_server(database, settings) as server:
        # Given a client that sent half a login and stopped
        stalled = await SipClient.connect(server.port)
        await stalled.send(b"9300CNkanopy-lansing|COnetz")
        # When another client logs in and verifies a patron meanwhile
        other = await SipClient.connect(server.port)
        assert (await other.login()).fixed == {"ok": "1"}
        info = await other.patron_information("T-LAN-1")
        # Then it is served while the stalled connection is still open
        assert (info.get("BL"), info.get("CQ"), info.get("XK")) == (["Y"], ["Y"], ["ALLOWED"])
        assert server.connections == 2
        # ... and the stalled client is disconnected when its message is overdue, unanswered
        assert await stalled.read_until_closed(within=10) == b""
        assert server.connections == 1
        # ... while the other goes on
        assert (await other.patron_status("T-LAN-1", sequence=2)).get("CQ") == ["Y"]
        await other.close()
        await stalled.close()


async def test_garbage_gets_a_resend_request_and_the_session_goes_on(sip: SipClient) -> None:
    await sip.send(b"\x00\xff\xfe garbage \x1b[2J\r")
    assert await sip.receive() == b"96\r"
    # A message too short for its fixed part, with a checksum: 96 with a checksum
    await sip.send(with_error_detection("63000", 0))
    assert await sip.receive() == b"96AZFEF6\r"
    # Invalid UTF-8 in a value is no reason to fail
    await sip.send(b"9300CNkanopy-lansing|COnetzone-demo|CP\xff\xfe|\r")
    assert await sip.receive() == b"941\r"


async def test_endless_garbage_is_cut_off(sip: SipClient) -> None:
    await sip.send(b"garbage\r" * 10)
    assert await sip.read_until_closed() == b"96\r" * 10


async def test_clients_hanging_up_mid_message_do_not_disturb_others(
    sip_server: SipServer, patrons: Patrons
) -> None:
    await patrons.create("T-LAN-1")
    # Given five clients that hang up in the middle of a message
    for n in range(5):
        client = await SipClient.connect(sip_server.port)
        await client.send(b"63000" + b"20261124    1015" * (n + 1))
        client.writer.transport.abort()
    # Then another client is served, and the server has let the others go
    other = await SipClient.connect(sip_server.port)
    await other.login()
    assert (await other.patron_information("T-LAN-1")).get("BL") == ["Y"]
    for _ in range(100):
        if sip_server.connections == 1:
            break
        await asyncio.sleep(0.05)
    assert sip_server.connections == 1
    await other.close()


async def test_an_oversized_message_closes_the_connection(sip: SipClient) -> None:
    # Without a terminator: the server stops buffering at the limit (4096 bytes)
    await sip.send(b"23" + b"A" * 5000)
    assert await sip.read_until_closed() == b""


async def test_an_oversized_terminated_message_closes_the_connection(sip: SipClient) -> None:
    await sip.send(b"9300CN" + b"x" * 4000 + b"|CO" + b"y" * 200 + b"|\r")
    assert await sip.read_until_closed() == b""


async def test_an_idle_connection_is_closed(database: Database, sip_settings: Settings) -> None:
    settings = sip_settings.model_copy(update={"sip2_idle_timeout_seconds": 0.3})
    async with running_server(database, settings) as server:
        client = await SipClient.connect(server.port)
        await client.login()
        # When the client says nothing more, the server hangs up
        assert await client.read_until_closed(within=5) == b""
        await client.close()


async def test_connections_over_the_limit_are_refused(
    database: Database, sip_settings: Settings
) -> None:
    settings = sip_settings.model_copy(update={"sip2_max_connections": 2})
    async with running_server(database, settings) as server:
        first = await SipClient.connect(server.port)
        second = await SipClient.connect(server.port)
        assert (await first.login()).fixed == {"ok": "1"}
        assert (await second.login()).fixed == {"ok": "1"}
        third = await SipClient.connect(server.port)
        assert await third.read_until_closed(within=5) == b""
        # The first two are still served
        assert (await first.exchange(b"990 402.00AY1AZFCB4\r")).fixed["online"] == "Y"
        for client in (first, second, third):
            await client.close()
