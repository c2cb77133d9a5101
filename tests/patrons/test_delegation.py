"""Authority is delegated, never created: login libraries, grants on one's own account, the
last administrator, and grants that end (spec/platform.md, *Delegation*).

Each attack is tried from the side that must be refused, and the data is checked unchanged.
"""

from __future__ import annotations

from typing import Any

from tests.support.graphql import GraphQL, error
from tests.support.patrons import PatronApi

PASSWORD = "delegated-123"

# Needs CIRCULATION: tells whether a token still stands for a staff session.
PROBE = 'query { patrons(institution: "NEKLS", first: 1) { totalCount } }'

HOLDS = (
    "a session grants only libraries it holds (the library it is logged in at; every "
    "library for the institution's system administrators)."
)


async def account(api: PatronApi, token: str, username: str) -> dict[str, Any]:
    found = await api.search(token, search=username)
    assert found["totalCount"] == 1, found
    patron = await api.read(token, found["edges"][0]["node"]["id"])
    assert patron is not None
    return patron


async def session_works(gql: GraphQL, token: str) -> bool:
    """Does the token still act as CIRCULATION staff of NEKLS (who see its many patrons)?"""
    response = await gql.raw(PROBE, token=token)
    body = response.json()
    if body.get("data") and body["data"].get("patrons") is not None:
        return bool(body["data"]["patrons"]["totalCount"] > 1)
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
    assert codes & {"UNAUTHENTICATED", "FORBIDDEN"}, body
    return False


# ---------------------------------------------------------------- login libraries


async def test_a_librarian_cannot_give_itself_another_library(gql: GraphQL, api: PatronApi) -> None:
    # Given basehor.librarian, logged in at BASEHOR
    basehor = await gql.login("basehor.librarian", "BASEHOR")
    me = await account(api, basehor, "basehor.librarian")
    # When it adds LANSING (where the Kanopy attribute lives) to its own login libraries
    payload = await api.update_payload(
        basehor, id=me["id"], expectedVersion=me["version"], libraries=["BASEHOR", "LANSING"]
    )
    # Then it is refused, the account is unchanged, and LANSING still refuses its login
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "FORBIDDEN",
                f"You may not let a staff account log in at LANSING: {HOLDS}",
                "input",
                "libraries",
            )
        ],
    }
    assert await api.read(basehor, me["id"]) == me
    assert await gql.login_errors("basehor.librarian", "LANSING", "netzone-demo") == [
        error("FORBIDDEN", "This account may not log in at LANSING.", "input", "library")
    ]


async def test_a_librarian_cannot_make_staff_for_a_library_it_does_not_hold(
    gql: GraphQL, api: PatronApi
) -> None:
    basehor = await gql.login("basehor.librarian", "BASEHOR")
    count = await api.count(basehor)
    staff = {
        "institution": "NEKLS",
        "surname": "Accomplice",
        "username": "accomplice",
        "password": PASSWORD,
        "systemGroups": ["CIRCULATION"],
    }
    # A CIRCULATION account allowed at LANSING ...
    explicit = await api.create_payload(
        basehor, homeLibrary="BASEHOR", libraries=["LANSING"], **staff
    )
    # ... or one whose home library (its login library by default) is LANSING
    by_home = await api.create_payload(basehor, homeLibrary="LANSING", **staff)
    assert explicit["errors"] == [
        error(
            "FORBIDDEN",
            f"You may not let a staff account log in at LANSING: {HOLDS}",
            "input",
            "libraries",
        )
    ]
    assert by_home["errors"] == [
        error(
            "FORBIDDEN",
            f"You may not let a staff account log in at LANSING: {HOLDS}",
            "input",
            "homeLibrary",
        )
    ]
    assert await api.count(basehor) == count
    assert await gql.login_errors("accomplice", "LANSING", PASSWORD) == [
        error("INVALID_CREDENTIALS", "The username or password is not correct.")
    ]
    # Making an ordinary patron staff afterwards is the same grant
    patron = await api.create(basehor, homeLibrary="LANSING", surname="Walk-in")
    promoted = await api.update_payload(
        basehor, id=patron["id"], expectedVersion=1, systemGroups=["CIRCULATION"]
    )
    assert [e["code"] for e in promoted["errors"]] == ["FORBIDDEN"]
    assert await api.read(basehor, patron["id"]) == patron


async def test_allowed_grants_of_libraries_still_work(gql: GraphQL, api: PatronApi) -> None:
    # A librarian grants the library it is logged in at; ordinary patrons' home libraries
    # stay free to change
    basehor = await gql.login("basehor.librarian", "BASEHOR")
    clerk = await api.create(
        basehor,
        homeLibrary="BASEHOR",
        surname="Clerk",
        username="basehor.clerk",
        password=PASSWORD,
        systemGroups=["CIRCULATION"],
    )
    assert await gql.login_errors("basehor.clerk", "BASEHOR", PASSWORD) == []
    patron = await api.create(basehor, homeLibrary="BASEHOR", surname="Mover")
    moved = await api.update(basehor, id=patron["id"], expectedVersion=1, homeLibrary="LANSING")
    assert moved["homeLibrary"] == {"code": "LANSING"}
    # The system administrator holds every library of the institution
    admin = await gql.login("nekls.admin", "LANSING")
    widened = await api.update(
        admin, id=clerk["id"], expectedVersion=1, libraries=["BASEHOR", "TONGANOXIE"]
    )
    assert widened["libraries"] == [{"code": "BASEHOR"}, {"code": "TONGANOXIE"}]
    assert await gql.login_errors("basehor.clerk", "TONGANOXIE", PASSWORD) == []
    # ... after which the BASEHOR librarian no longer holds everything the clerk holds
    refused = await api.update_payload(basehor, id=clerk["id"], expectedVersion=2, phone="1")
    assert refused["errors"] == [
        error(
            "FORBIDDEN",
            "Only someone who may grant its login library (TONGANOXIE) can change this account.",
            "input",
            "id",
        )
    ]


# ---------------------------------------------------------------- grants on one's own account


async def test_a_librarian_cannot_extend_or_reenable_its_own_access(
    gql: GraphQL, api: PatronApi, lansing: str
) -> None:
    me = await account(api, lansing, "lansing.librarian")
    for change, name in (({"until": "2099-12-31"}, "until"), ({"enabled": False}, "enabled")):
        payload = await api.update_payload(
            lansing, id=me["id"], expectedVersion=me["version"], **change
        )
        assert payload["errors"] == [
            error(
                "FORBIDDEN",
                f"Only someone who may grant LIBRARIAN can change {name} of this account, "
                "your own included.",
                "input",
                name,
            )
        ]
    assert await api.read(lansing, me["id"]) == me
    # Its own name, email and password stay its own to change
    changed = await api.update(lansing, id=me["id"], expectedVersion=me["version"], phone="7")
    assert changed["phone"] == "7"


# ---------------------------------------------------------------- the last administrator


async def test_the_last_administrator_stays(gql: GraphQL, api: PatronApi) -> None:
    # Given NORTHFIELD, whose only system administrator is northfield.admin
    admin = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    found = await api.search(admin, institution="NORTHFIELD", search="northfield.admin")
    me = await api.read(admin, found["edges"][0]["node"]["id"])
    assert me is not None
    assert "SYSTEM_ADMIN" in me["systemGroups"]
    last = error(
        "CONFLICT",
        "This is the institution's last enabled system administrator: make another account "
        "SYSTEM_ADMIN first.",
        "input",
        "id",
    )
    # When it takes away its own role, disables itself or ends its own access
    for change in ({"systemGroups": []}, {"enabled": False}, {"until": "2020-01-01"}):
        payload = await api.update_payload(
            admin, id=me["id"], expectedVersion=me["version"], **change
        )
        # Then it is refused, and the account is unchanged
        assert payload == {"patron": None, "errors": [last]}, change
    assert await api.read(admin, me["id"]) == me
    assert await gql.login_errors("northfield.admin", "NORTHFIELD-MAIN", "netzone-demo") == []
    # With a second administrator, stepping down works
    deputy = await api.create(
        admin,
        institution="NORTHFIELD",
        homeLibrary="NORTHFIELD-MAIN",
        surname="Deputy",
        systemGroups=["SYSTEM_ADMIN"],
    )
    assert "SYSTEM_ADMIN" in deputy["systemGroups"]
    stepped = await api.update(
        admin, id=me["id"], expectedVersion=me["version"], until="2020-01-01"
    )
    assert stepped["until"] == "2020-01-01"


# ---------------------------------------------------------------- grants that end, end


async def test_grants_taken_away_end_live_sessions(gql: GraphQL, api: PatronApi) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    clerk = await api.create(
        admin,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Leaving",
        username="leaving.clerk",
        password=PASSWORD,
        systemGroups=["CIRCULATION"],
        libraries=["LANSING", "BASEHOR"],
    )
    at_lansing = await gql.login("leaving.clerk", "LANSING", PASSWORD)
    at_basehor = await gql.login("leaving.clerk", "BASEHOR", PASSWORD)
    assert await session_works(gql, at_lansing)
    assert await session_works(gql, at_basehor)
    # A login library taken away ends the session there, not elsewhere
    await api.update(admin, id=clerk["id"], expectedVersion=1, libraries=["BASEHOR"])
    assert not await session_works(gql, at_lansing)
    assert await session_works(gql, at_basehor)
    # A role taken away ends its powers at once
    await api.update(admin, id=clerk["id"], expectedVersion=2, systemGroups=[])
    assert not await session_works(gql, at_basehor)
    await api.update(admin, id=clerk["id"], expectedVersion=3, systemGroups=["CIRCULATION"])
    assert await session_works(gql, at_basehor)
    # ... and so does disabling the account or ending its access
    await api.update(admin, id=clerk["id"], expectedVersion=4, enabled=False)
    assert not await session_works(gql, at_basehor)
    await api.update(admin, id=clerk["id"], expectedVersion=5, enabled=True)
    assert await session_works(gql, at_basehor)
    await api.update(admin, id=clerk["id"], expectedVersion=6, until="2020-01-01")
    assert not await session_works(gql, at_basehor)
