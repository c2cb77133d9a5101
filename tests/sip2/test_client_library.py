"""A SIP2 client the project did not write (`sip2` on PyPI) talks to the running server.

The library is synchronous: it runs in a thread while the server runs in the test's loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from Sip2.sip2 import Sip2
from Sip2.wrapper import Sip2Wrapper

from app.sip2.server import SipServer
from tests.support.sip2 import PIN, SECRET, Patrons


@pytest.fixture
def client_params(sip_server: SipServer, tmp_path: Path) -> Iterator[dict[str, Any]]:
    yield {
        "hostName": "127.0.0.1",
        "hostPort": sip_server.port,
        "tlsEnable": False,  # netzone speaks plain TCP; the library would try TLS first
        "socketTimeout": 10,
        "institutionId": "NEKLS",
        "scLocation": "Kanopy",
        "logfile_path": str(tmp_path),  # the library writes a log file
        "loglevel": "WARNING",
    }
    # The library adds a file handler to a module-wide logger on every connection.
    library_log = logging.getLogger("Sip2")
    for handler in list(library_log.handlers):
        handler.close()
        library_log.removeHandler(handler)


def verify(params: dict[str, Any], patrons: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Log in as kanopy-lansing, then ask for each (barcode, PIN)'s information."""
    sip = Sip2()
    for key, value in params.items():
        setattr(sip, key, value)
    sip.connect()
    try:
        login = sip.sip_login_response(
            sip.get_response(sip.sip_login_request("kanopy-lansing", SECRET))
        )
        assert login["fixed"]["Ok"] == "1"
        status = sip.sip_sc_status_response(sip.get_response(sip.sip_sc_status_request()))
        assert status["fixed"]["OnlineStatus"] == "Y"
        results = []
        for barcode, pin in patrons:
            sip.patron, sip.patronpwd = barcode, pin
            request = sip.sip_patron_information_request("none")
            results.append(sip.sip_patron_information_response(sip.get_response(request)))
        return results
    finally:
        sip.disconnect()


def wrapper_patron_login(params: dict[str, Any], barcode: str, pin: str) -> bool:
    """The library's own notion of a patron login: BL Y and, with a PIN, CQ Y."""
    wrapper = Sip2Wrapper(params, True, "Sip2")
    try:
        # Login (93), then ACS status (99): the wrapper checks on-line and reads BX
        wrapper.login_device("kanopy-lansing", SECRET)
        valid: bool = wrapper.login_patron(barcode, pin)
        return valid
    finally:
        wrapper.disconnect()


async def test_the_kanopy_story_through_a_third_party_client(
    client_params: dict[str, Any], patrons: Patrons
) -> None:
    # Given a LANSING patron (Kanopy allowed by the rule), a BASEHOR patron, a blocked one
    await patrons.create("T-LAN-1", preferredName="Kay")
    await patrons.create("T-BAS-1", home_library="BASEHOR")
    blocked = await patrons.create("T-LAN-BLOCKED")
    await patrons.block(blocked, "FINES")

    # When the vendor's client verifies them (and one wrong PIN)
    lansing, basehor, wrong, fines = await asyncio.to_thread(
        verify,
        client_params,
        [("T-LAN-1", PIN), ("T-BAS-1", PIN), ("T-LAN-1", "not-the-pin"), ("T-LAN-BLOCKED", PIN)],
    )

    # Then the LANSING patron is valid and carries the entitlement field
    assert lansing["fixed"]["PatronStatus"] == " " * 14
    assert lansing["fixed"]["ChargedItemsCount"] == "0000"
    variable = lansing["variable"]
    assert (variable["AA"], variable["AE"]) == (["T-LAN-1"], ["Kay Streamer"])
    assert (variable["BL"], variable["CQ"], variable["XK"]) == (["Y"], ["Y"], ["ALLOWED"])
    assert (variable["AO"], variable["PC"]) == (["NEKLS"], ["ADULT"])
    # ... the BASEHOR patron is valid without it
    assert (basehor["variable"]["BL"], basehor["variable"]["CQ"]) == (["Y"], ["Y"])
    assert "XK" not in basehor["variable"]
    # ... a wrong PIN is CQ N
    assert (wrong["variable"]["BL"], wrong["variable"]["CQ"]) == (["Y"], ["N"])
    # ... and the blocked patron has charge privileges denied
    assert fines["variable"]["BL"] == ["Y"]
    assert fines["fixed"]["PatronStatus"][0] == "Y"
    # The library's own patron login agrees: in with the PIN, out without it
    assert await asyncio.to_thread(wrapper_patron_login, client_params, "T-LAN-1", PIN)
    assert not await asyncio.to_thread(
        wrapper_patron_login, client_params, "T-LAN-1", "not-the-pin"
    )


def skip_login(params: dict[str, Any], barcode: str) -> dict[str, Any]:
    """Ask about a patron without logging in first."""
    sip = Sip2()
    for key, value in params.items():
        setattr(sip, key, value)
    sip.connect()
    try:
        sip.patron, sip.patronpwd = barcode, PIN
        request = sip.sip_patron_information_request("none")
        response: dict[str, Any] = sip.sip_patron_information_response(sip.get_response(request))
        return response
    finally:
        sip.disconnect()


async def test_a_session_that_skipped_login_gets_nothing(
    client_params: dict[str, Any], patrons: Patrons
) -> None:
    await patrons.create("T-LAN-1")
    response = await asyncio.to_thread(skip_login, client_params, "T-LAN-1")
    variable = response["variable"]
    assert (variable["BL"], variable["CQ"], variable["AE"]) == (["N"], ["N"], [""])
    assert "XK" not in variable
    assert variable["AF"] == ["Log in first (message 93)."]
    assert response["fixed"]["PatronStatus"] == "YYYY" + " " * 10
