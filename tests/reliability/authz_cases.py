"""The authorization matrix: for every root operation, what each actor gets.

Each `Case` names the operation's document, how to build its variables for one actor
(fresh targets for actors that are expected to succeed, so a success cannot hide a
later denial), the expected outcome per actor, how an allowed reader re-reads the
targeted data (to prove a denial changed nothing) and, where it matters, what an
allowed actor must (not) see in the result.

Actors are listed in tests/reliability/authz_world.py. Outcomes:
- OK: no top-level error, no payload error;
- UNAUTH: top-level error with extensions.code UNAUTHENTICATED;
- denied(CODE): the payload's first error has this code (and the result fields are empty);
- refused(CODE): a top-level error with extensions.code CODE;
- EMPTY: a query answers as if nothing existed (null, [], totalCount 0).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tests.reliability.authz_world import (
    ACTORS,
    ALL_SCOPES,
    PASSWORD,
    Upload,
    World,
    png,
)


@dataclass(frozen=True)
class Expect:
    kind: str  # ok | unauthenticated | error | top | empty
    code: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}({self.code})" if self.code else self.kind

    @property
    def allowed(self) -> bool:
        return self.kind == "ok"


OK = Expect("ok")
UNAUTH = Expect("unauthenticated")
EMPTY = Expect("empty")


def denied(code: str) -> Expect:
    return Expect("error", code)


def refused(code: str) -> Expect:
    return Expect("top", code)


FORBIDDEN = denied("FORBIDDEN")
NOT_FOUND = denied("NOT_FOUND")


def matrix(base: dict[str, Expect] | None = None, **outcomes: Expect) -> dict[str, Expect]:
    """A full row of the matrix: a profile with some actors changed, or every actor named."""
    row = {**(base or {}), **outcomes}
    assert set(row) == set(ACTORS), sorted(set(ACTORS) ^ set(row))
    return row


# Profiles: the common shapes of a row (each case states its own row from one of them).

# Reads of an institution's patrons: staff with CIRCULATION or more, clients with patron_read.
PATRON_READ = matrix(
    anonymous=UNAUTH,
    patron=EMPTY,
    generic=EMPTY,
    circulation=OK,
    librarian_other_library=OK,
    librarian=OK,
    system_admin=OK,
    system_admin_other=EMPTY,
    network_admin=EMPTY,
    client_with_scope=OK,
    client_without_scope=EMPTY,
)

# Writes to an institution named by code that need LIBRARIAN there.
LIBRARIAN_OF_INSTITUTION = matrix(
    anonymous=UNAUTH,
    patron=FORBIDDEN,
    generic=FORBIDDEN,
    circulation=FORBIDDEN,
    librarian_other_library=OK,
    librarian=OK,
    system_admin=OK,
    system_admin_other=FORBIDDEN,
    network_admin=FORBIDDEN,
    client_with_scope=FORBIDDEN,
    client_without_scope=FORBIDDEN,
)

# Writes to one patron that need LIBRARIAN of its institution: whoever may not even see
# the patron gets NOT_FOUND (it does not exist for them), readers get FORBIDDEN.
LIBRARIAN_ON_PATRON = matrix(
    anonymous=UNAUTH,
    patron=NOT_FOUND,
    generic=NOT_FOUND,
    circulation=FORBIDDEN,
    librarian_other_library=OK,
    librarian=OK,
    system_admin=OK,
    system_admin_other=NOT_FOUND,
    network_admin=NOT_FOUND,
    client_with_scope=FORBIDDEN,
    client_without_scope=NOT_FOUND,
)

# Institution configuration named by code: SYSTEM_ADMIN of that institution only.
ADMIN_OF_INSTITUTION = matrix(
    anonymous=UNAUTH,
    patron=FORBIDDEN,
    generic=FORBIDDEN,
    circulation=FORBIDDEN,
    librarian_other_library=FORBIDDEN,
    librarian=FORBIDDEN,
    system_admin=OK,
    system_admin_other=FORBIDDEN,
    network_admin=FORBIDDEN,
    client_with_scope=FORBIDDEN,
    client_without_scope=FORBIDDEN,
)

# Objects only the institution's SYSTEM_ADMIN sees: for everyone else they do not exist.
ADMIN_OBJECT = matrix(
    ADMIN_OF_INSTITUTION,
    patron=NOT_FOUND,
    generic=NOT_FOUND,
    circulation=NOT_FOUND,
    librarian_other_library=NOT_FOUND,
    librarian=NOT_FOUND,
    system_admin_other=NOT_FOUND,
    network_admin=NOT_FOUND,
    client_with_scope=NOT_FOUND,
    client_without_scope=NOT_FOUND,
)

# Network structure: NETWORK_ADMIN only.
NETWORK_ADMIN_ONLY = matrix(ADMIN_OF_INSTITUTION, system_admin=FORBIDDEN, network_admin=OK)

# Linking walk-ins: LIBRARIAN of the target institution or its client with scope linking.
LINKER = matrix(
    anonymous=UNAUTH,
    patron=FORBIDDEN,
    generic=FORBIDDEN,
    circulation=FORBIDDEN,
    librarian_other_library=OK,
    librarian=OK,
    system_admin=OK,
    system_admin_other=NOT_FOUND,
    network_admin=FORBIDDEN,
    client_with_scope=OK,
    client_without_scope=FORBIDDEN,
)

# Anyone who is authenticated.
AUTHENTICATED = matrix(
    anonymous=UNAUTH,
    **{actor: OK for actor in ACTORS if actor != "anonymous"},
)


@dataclass
class Call:
    variables: dict[str, Any] = field(default_factory=dict)
    upload: Upload | None = None


Prepare = Callable[[World, str, Expect], Awaitable[Call]]
State = Callable[[World, Call], Awaitable[Any]]
Verify = Callable[[World, str, Any, Call], Awaitable[None]]
IsEmpty = Callable[[Any], bool]


async def no_variables(world: World, actor: str, expect: Expect) -> Call:
    return Call()


@dataclass
class Case:
    document: str
    expect: dict[str, Expect]
    prepare: Prepare = no_variables
    state: State | None = None
    verify: Verify | None = None
    empty: IsEmpty | None = None
    scopes: tuple[str, ...] = ()  # held by client_with_scope (none named: every scope)
    scopes_without: tuple[str, ...] | None = None  # default: every scope but `scopes`
    searches: bool = False  # a query that audits even when it finds nothing (network search)
    # What the state re-read depends on (calls with the same key share one re-read).
    state_key: Callable[[Call], Any] = lambda call: repr(call.variables)

    def client_scopes(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        with_scope = self.scopes or ALL_SCOPES
        without = self.scopes_without
        if without is None:
            without = tuple(s for s in ALL_SCOPES if s not in self.scopes) if self.scopes else ()
        return with_scope, without


# ---------------------------------------------------------------- shared data, once per test


async def once(world: World, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
    cache = world.accounts.setdefault("_once", {})
    if key not in cache:
        cache[key] = await make()
    return cache[key]


async def shared_target(world: World) -> dict[str, Any]:
    return await once(world, "target", world.target_patron)  # type: ignore[no-any-return]


async def target_for(world: World, expect: Expect) -> dict[str, Any]:
    """A fresh patron for an actor expected to succeed, the shared one for the others."""
    if expect.allowed:
        return await world.target_patron()
    return await shared_target(world)


async def eastern_source(world: World) -> dict[str, Any]:
    return await once(world, "eastern", world.eastern_patron)  # type: ignore[no-any-return]


async def read_target(world: World, call: Call, key: str = "id") -> Any:
    """The targeted patron, as NEKLS's system administrator reads it."""
    source = call.variables.get("input", call.variables)
    return await world.read_patron(source[key])


def input_of(**values: Any) -> Call:
    return Call({"input": values})


INSTITUTION_CONFIG = """query {
  institution(code: "NEKLS") {
    userGroups { code } libraryGroups { name } blockTypes { code } attributeTypes { code }
    linkedAccountRules { id name position conditions { values } }
    restrictedUserGroups { userGroup { code } }
    sharedFields { field shared } searchableIdentifierTypes { code }
    lookupIdentifierTypes { code }
    settings { networkSearchByName emailServiceEnabled }
  }
  network { institutions { code } identifierTypes { code } }
  sipAccounts(institution: "NEKLS") { loginId enabled library { code } }
}"""


async def institution_config(world: World, call: Call) -> Any:
    return await world.ok(world.reader, INSTITUTION_CONFIG)


RULES = '{ institution(code: "NEKLS") { linkedAccountRules { id isDefault } } }'

CREATE_RULE = """mutation($name: String!) {
  createLinkedAccountRule(input: {
    institution: "NEKLS", name: $name,
    conditions: [{parameter: SOURCE_INSTITUTION, operator: EQUALS, values: ["EASTERN"]}],
    userGroup: "ADULT", expiry: {mode: NONE}, purge: {mode: NONE},
    refreshExpiryDate: false, refreshPurgeDate: false, copyNetworkBlocks: false
  }) { rule { id } errors { code message } }
}"""


async def new_rule(world: World) -> str:
    data = await world.ok(world.reader, CREATE_RULE, {"name": world.unique("Authz rule ")})
    payload = data["createLinkedAccountRule"]
    assert payload["errors"] == [], payload
    rule_id: str = payload["rule"]["id"]
    return rule_id


async def rule_for(world: World, expect: Expect) -> str:
    if expect.allowed:
        return await new_rule(world)
    return await once(world, "rule", lambda: new_rule(world))  # type: ignore[no-any-return]


ADD_BLOCK = """mutation($id: ID!) {
  addPatronBlock(input: {patronId: $id, blockType: "CONDUCT", note: "authz"}) {
    patron { blocks { id } } errors { code message }
  }
}"""


async def new_block(world: World, patron_id: str) -> str:
    data = await world.ok(world.reader, ADD_BLOCK, {"id": patron_id})
    payload = data["addPatronBlock"]
    assert payload["errors"] == [], payload
    block_id: str = payload["patron"]["blocks"][-1]["id"]
    return block_id


SET_PHOTO = """mutation($input: SetPatronPhotoInput!) {
  setPatronPhoto(input: $input) { patron { id photo { byteSize } } errors { code message field } }
}"""


def photo_call(patron_id: str) -> Call:
    return Call(
        {"input": {"patronId": patron_id, "file": None}},
        Upload("variables.input.file", "photo.png", png(), "image/png"),
    )


async def patron_with_photo(world: World) -> dict[str, Any]:
    patron = await world.target_patron()
    call = photo_call(patron["id"])
    body = await world.send(world.reader, SET_PHOTO, call.variables, call.upload)
    assert body["data"]["setPatronPhoto"]["errors"] == [], body
    return patron


CHECK_OUT = """mutation($id: ID!, $item: String!) {
  checkOut(input: {patronId: $id, itemBarcode: $item}) { loan { id } errors { code message } }
}"""


async def lend(world: World, patron_id: str) -> str:
    item = world.unique("AUTHZ-ITEM-")
    data = await world.ok(world.reader, CHECK_OUT, {"id": patron_id, "item": item})
    assert data["checkOut"]["errors"] == [], data
    return item


BOUNCE = """mutation($address: String!) {
  reportEmailBounce(input: {address: $address, kind: HARD_BOUNCE}) {
    blacklisted { address } errors { code message }
  }
}"""


async def blacklisted_patron(world: World) -> dict[str, Any]:
    """A target patron whose primary email the mail provider reported."""
    patron = await world.target_patron()
    mailer = await once(world, "mailer", lambda: world.client(["email"]))
    data = await world.ok(mailer, BOUNCE, {"address": patron["primaryEmail"]})
    assert data["reportEmailBounce"]["errors"] == [], data
    return patron


async def read_alerts(world: World, call: Call) -> Any:
    patron = world.accounts["_once"]["bounced"]
    return await world.read_patron(patron["id"])


PATRON_PAYLOAD = "patron { id version } errors { code message field }"


def nodes_empty(result: Any) -> bool:
    return all(item is None for item in result)


def connection_empty(result: Any) -> bool:
    return bool(result["totalCount"] == 0 and result["edges"] == [])


def search_empty(result: Any) -> bool:
    return bool(result == {"matches": [], "errors": []})


# ---------------------------------------------------------------- verifications of allowed answers

KANOPY_SESSIONS = {"circulation", "librarian", "system_admin"}  # logged in at LANSING


async def verify_node(world: World, actor: str, result: Any, call: Call) -> None:
    assert result["id"] == call.variables["id"]
    codes = [a["type"]["code"] for a in result["attributes"]]
    # Kanopy (LANSING) values show to LANSING sessions only (and to no client without
    # the attribute:KANOPY_LANSING scope).
    assert ("KANOPY_LANSING" in codes) == (actor in KANOPY_SESSIONS), (actor, codes)


async def verify_nodes(world: World, actor: str, result: Any, call: Call) -> None:
    ids = call.variables["ids"]
    assert [None if r is None else r["id"] for r in result] == [ids[0], None]


async def verify_viewer(world: World, actor: str, result: Any, call: Call) -> None:
    if actor == "anonymous":
        assert result == {"patron": None, "institution": None, "library": None, "systemGroups": []}
        return
    assert result["institution"]["code"] == (
        "EASTERN" if actor == "system_admin_other" else "NEKLS"
    )
    if actor.startswith("client"):
        assert result["patron"] is None
        assert result["systemGroups"] == []
    else:
        assert result["patron"] is not None
    if actor in ("patron", "generic"):
        assert result["systemGroups"] == ["LIBRARY_USERS"]


async def verify_network(world: World, actor: str, result: Any, call: Call) -> None:
    assert {i["code"] for i in result["institutions"]} >= {"NEKLS", "EASTERN", "WESTERN"}
    types = [t["code"] for t in result["attributeTypes"]]
    # Attribute types of the viewer's own institution, for sessions the type's library
    # limits admit (LANSING) or clients with its scope.
    sees = actor not in ("librarian_other_library", "system_admin_other", "client_without_scope")
    assert ("KANOPY_LANSING" in types) == sees, (actor, types)


async def prepare_institution(world: World, actor: str, expect: Expect) -> Call:
    async def configure() -> None:
        await new_rule(world)
        data = await world.ok(
            world.reader,
            """mutation { addRestrictedUserGroup(input: {institution: "NEKLS", userGroup: "ILL"}) {
                 errors { code } } }""",
        )
        assert data["addRestrictedUserGroup"]["errors"] == []

    await once(world, "configured", configure)
    return Call()


async def verify_institution(world: World, actor: str, result: Any, call: Call) -> None:
    assert result["code"] == "NEKLS"
    # Rules are the target's own business: its system administrators only.
    assert bool(result["linkedAccountRules"]) == (actor == "system_admin"), actor
    # Restricted groups: members of the institution only.
    member = actor != "system_admin_other"
    assert bool(result["restrictedUserGroups"]) == member, actor
    if actor != "system_admin":
        assert result["alerts"] == []


async def verify_patrons(world: World, actor: str, result: Any, call: Call) -> None:
    assert result["totalCount"] == 1
    assert [e["node"]["id"] for e in result["edges"]] == [call.variables["target"]]


async def verify_discrepancies(world: World, actor: str, result: Any, call: Call) -> None:
    assert result["totalCount"] > 0
    assert len(result["edges"]) > 0


async def verify_search(world: World, actor: str, result: Any, call: Call) -> None:
    assert [m["institution"]["code"] for m in result["matches"]] == ["EASTERN"]


async def verify_sip_accounts(world: World, actor: str, result: Any, call: Call) -> None:
    assert {"kanopy-lansing", "nekls-vendor"} <= {a["loginId"] for a in result}


async def verify_logout(world: World, actor: str, result: Any, call: Call) -> None:
    token = world.tokens[actor]
    if token is None:
        return
    body = await world.send(token, "{ viewer { patron { id } institution { code } } }")
    viewer = body["data"]["viewer"]
    if actor.startswith("client"):
        # A client token is not a session: logout leaves it working.
        assert viewer["institution"] == {"code": "NEKLS"}
    else:
        assert viewer == {"patron": None, "institution": None}, actor


async def verify_authenticated_patron(world: World, actor: str, result: Any, call: Call) -> None:
    assert (result["validPatron"], result["validPassword"]) == (True, True), result


# ---------------------------------------------------------------- the cases


async def p_node(world: World, actor: str, expect: Expect) -> Call:
    return Call({"id": (await shared_target(world))["id"]})


async def p_nodes(world: World, actor: str, expect: Expect) -> Call:
    target = await shared_target(world)
    missing = "UGF0cm9uOjIxNDc0ODM2NDc"  # Patron:2147483647
    return Call({"ids": [target["id"], missing]})


async def p_patrons(world: World, actor: str, expect: Expect) -> Call:
    target = await shared_target(world)
    return Call({"search": target["barcode"], "target": target["id"]})


async def p_search(world: World, actor: str, expect: Expect) -> Call:
    return Call({"identifier": (await eastern_source(world))["barcode"]})


async def p_login(world: World, actor: str, expect: Expect) -> Call:
    return Call({"u": "authz.patron", "p": PASSWORD, "l": "LANSING"})


async def p_create_client(world: World, actor: str, expect: Expect) -> Call:
    return input_of(
        institution="NEKLS", name=world.unique("Matrix client "), scopes=["patron_read"]
    )


async def api_client_target(world: World) -> str:
    """A NEKLS API client made for the case (never one of the matrix's own clients)."""

    async def make() -> str:
        data = await world.ok(
            world.reader,
            """mutation($n: String!) { createApiClient(input: {
                 institution: "NEKLS", name: $n, scopes: ["patron_read"]}) {
                 client { id } errors { code } } }""",
            {"n": world.unique("Matrix target ")},
        )
        client_id: str = data["createApiClient"]["client"]["id"]
        return client_id

    return await once(world, "api_client_target", make)  # type: ignore[no-any-return]


async def p_api_client(world: World, actor: str, expect: Expect) -> Call:
    return input_of(id=await api_client_target(world))


async def api_client_state(world: World, call: Call) -> Any:
    data = await world.ok(world.reader, '{ apiClients(institution: "NEKLS") { id enabled } }')
    return [c for c in data["apiClients"] if c["id"] == call.variables["input"]["id"]]


async def p_update_api_client(world: World, actor: str, expect: Expect) -> Call:
    # A new name and a wider set of scopes: what an attacker would give itself.
    return input_of(
        id=await api_client_target(world),
        name=world.unique("Renamed "),
        scopes=["patron_read", "linking", "email"],
    )


async def api_client_full_state(world: World, call: Call) -> Any:
    data = await world.ok(
        world.reader, '{ apiClients(institution: "NEKLS") { id name scopes library enabled } }'
    )
    return [c for c in data["apiClients"] if c["id"] == call.variables["input"]["id"]]


async def verify_api_clients(world: World, actor: str, result: Any, call: Call) -> None:
    assert len(result) >= 2  # the matrix's own clients at least
    assert {c["institutionCode"] for c in result} == {"NEKLS"}


# Client administration: another institution's administrator, and everyone else, is told
# there is no such client (as for an id that does not exist).
CLIENT_ADMIN = matrix(
    dict.fromkeys(ACTORS, NOT_FOUND),
    anonymous=UNAUTH,
    system_admin=OK,
)


async def p_create_patron(world: World, actor: str, expect: Expect) -> Call:
    barcode = world.unique("AUTHZ-NEW-")
    return input_of(
        institution="NEKLS",
        homeLibrary="LANSING",
        surname=f"New {barcode}",
        barcode=barcode,
        username=barcode.lower(),
        password=PASSWORD,
        attributes=[{"type": "KANOPY_LANSING", "values": ["ALLOWED"]}],
    )


async def created_patron_state(world: World, call: Call) -> Any:
    barcode = call.variables["input"]["barcode"]
    return await world.ok(
        world.reader,
        'query($s: String!) { patrons(institution: "NEKLS", filter: {search: $s}) { totalCount } }',
        {"s": barcode},
    )


async def p_update_patron(world: World, actor: str, expect: Expect) -> Call:
    target = await target_for(world, expect)
    return input_of(
        id=target["id"],
        expectedVersion=target["version"],
        givenName=world.unique("Changed"),
        attributes=[{"type": "KANOPY_LANSING", "values": ["NOT_ALLOWED"]}],
    )


async def p_patron_id(world: World, actor: str, expect: Expect) -> Call:
    return input_of(id=(await target_for(world, expect))["id"])


async def p_add_block(world: World, actor: str, expect: Expect) -> Call:
    return input_of(patronId=(await target_for(world, expect))["id"], blockType="CONDUCT", note="x")


async def p_remove_block(world: World, actor: str, expect: Expect) -> Call:
    target = await shared_target(world)
    if expect.allowed:
        return input_of(id=await new_block(world, target["id"]))
    block = await once(world, "block", lambda: new_block(world, target["id"]))
    return input_of(id=block)


async def p_set_photo(world: World, actor: str, expect: Expect) -> Call:
    return photo_call((await target_for(world, expect))["id"])


async def p_remove_photo(world: World, actor: str, expect: Expect) -> Call:
    if expect.allowed:
        patron = await patron_with_photo(world)
    else:
        patron = await once(world, "with photo", lambda: patron_with_photo(world))
    return input_of(patronId=patron["id"])


async def p_create_institution(world: World, actor: str, expect: Expect) -> Call:
    return input_of(code=world.unique("AUTHZ"), name="Authz institution")


async def p_create_library(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", code=world.unique("AUTHZ-LIB-"), name="Authz library")


async def p_create_identifier_type(world: World, actor: str, expect: Expect) -> Call:
    return input_of(code=world.unique("AUTHZ_ID_"), name="Authz id")


async def p_create_user_group(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", code=world.unique("AUTHZ-G"), name="Authz group")


async def p_create_library_group(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", name=world.unique("Authz library group "))


async def p_create_block_type(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", code=world.unique("AUTHZ-B"), description="Authz")


STRUCTURE = """query {
  network {
    institutions {
      code name libraries { code name } userGroups { code name loanPeriodDays }
      libraryGroups { id name description } blockTypes { code description network blocksLoans }
    }
    identifierTypes { code name networkUnique }
  }
}"""


async def network_structure(world: World, call: Call) -> Any:
    return await world.ok(world.reader, STRUCTURE)


async def _network_admin(world: World) -> str:
    token = world.tokens["network_admin"]
    assert token is not None
    return token


async def _created(world: World, document: str, variables: dict[str, Any], token: str) -> Any:
    data = await world.ok(token, document, variables)
    [payload] = data.values()
    assert payload["errors"] == [], data
    return payload


async def p_update_institution(world: World, actor: str, expect: Expect) -> Call:
    return input_of(code="NEKLS", name=world.unique("Authz renamed "))


async def p_update_library(world: World, actor: str, expect: Expect) -> Call:
    return input_of(code="BASEHOR", name=world.unique("Authz renamed "))


async def p_update_identifier_type(world: World, actor: str, expect: Expect) -> Call:
    return input_of(code="UNIV_ID", name=world.unique("Authz renamed "))


async def p_update_user_group(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", code="ADULT", loanPeriodDays=30)


async def _library_group(world: World) -> str:
    payload = await _created(
        world,
        """mutation($name: String!) { createLibraryGroup(input: {institution: "NEKLS",
             name: $name}) { libraryGroup { id } errors { code } } }""",
        {"name": world.unique("Authz set-up group ")},
        world.reader,
    )
    group_id: str = payload["libraryGroup"]["id"]
    return group_id


async def p_update_library_group(world: World, actor: str, expect: Expect) -> Call:
    group = await once(world, "library group", lambda: _library_group(world))
    return input_of(id=group, description=world.unique("Authz "))


async def p_update_block_type(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", code="LOST", description=world.unique("Authz "))


async def p_remove_institution(world: World, actor: str, expect: Expect) -> Call:
    code = world.unique("AUTHZ-GONE")
    await _created(
        world,
        """mutation($code: String!) { createInstitution(input: {code: $code, name: "Gone"})
             { errors { code } } }""",
        {"code": code},
        await _network_admin(world),
    )
    return input_of(code=code)


async def p_remove_library(world: World, actor: str, expect: Expect) -> Call:
    code = world.unique("AUTHZ-GONE-")
    await _created(
        world,
        """mutation($code: String!) { createLibrary(input: {institution: "NEKLS", code: $code,
             name: "Gone"}) { errors { code } } }""",
        {"code": code},
        await _network_admin(world),
    )
    return input_of(code=code)


async def p_remove_identifier_type(world: World, actor: str, expect: Expect) -> Call:
    code = world.unique("AUTHZ_GONE_")
    await _created(
        world,
        """mutation($code: String!) { createIdentifierType(input: {code: $code, name: "Gone"})
             { errors { code } } }""",
        {"code": code},
        await _network_admin(world),
    )
    return input_of(code=code)


async def p_remove_user_group(world: World, actor: str, expect: Expect) -> Call:
    code = world.unique("AUTHZ-GONE")
    await _created(
        world,
        """mutation($code: String!) { createUserGroup(input: {institution: "NEKLS", code: $code,
             name: "Gone"}) { errors { code } } }""",
        {"code": code},
        world.reader,
    )
    return input_of(institution="NEKLS", code=code)


async def p_remove_library_group(world: World, actor: str, expect: Expect) -> Call:
    return input_of(id=await _library_group(world))


async def p_remove_block_type(world: World, actor: str, expect: Expect) -> Call:
    code = world.unique("AUTHZ-GONE")
    await _created(
        world,
        """mutation($code: String!) { createBlockType(input: {institution: "NEKLS", code: $code,
             description: "Gone"}) { errors { code } } }""",
        {"code": code},
        world.reader,
    )
    return input_of(institution="NEKLS", code=code)


CHOICE_LISTS = """query { institution(code: "NEKLS") {
  cohorts { value description } formClasses { value description } } }"""


async def choice_lists(world: World, call: Call) -> Any:
    return await world.ok(world.reader, CHOICE_LISTS)


async def p_add_value_choice(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", kind="COHORT", value=world.unique("AUTHZ-"))


async def p_remove_value_choice(world: World, actor: str, expect: Expect) -> Call:
    value = world.unique("AUTHZ-GONE-")
    await _created(
        world,
        """mutation($value: String!) { addPatronValueChoice(input: {institution: "NEKLS",
             kind: FORM_CLASS, value: $value}) { errors { code } } }""",
        {"value": value},
        world.reader,
    )
    return input_of(institution="NEKLS", kind="FORM_CLASS", value=value)


async def p_import_value_choices(world: World, actor: str, expect: Expect) -> Call:
    return Call(
        {"input": {"institution": "NEKLS", "file": None, "dryRun": False}},
        csv_upload(f"kind,value\r\nCOHORT,{world.unique('AUTHZ-IMP-')}\r\n", "choices.csv"),
    )


async def out_of_scope_patron(world: World) -> dict[str, Any]:
    """A BASEHOR patron with Kanopy ALLOWED: a PRESENT_OUT_OF_SCOPE discrepancy."""
    return await world.target_patron(homeLibrary="BASEHOR")


async def p_apply_rule(world: World, actor: str, expect: Expect) -> Call:
    if expect.allowed:
        patron = await out_of_scope_patron(world)
    else:
        patron = await once(world, "out of scope", lambda: out_of_scope_patron(world))
    return input_of(attributeType="KANOPY_LANSING", patronIds=[patron["id"]])


async def apply_rule_state(world: World, call: Call) -> Any:
    return await world.read_patron(call.variables["input"]["patronIds"][0])


async def p_create_attribute_type(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", code=world.unique("AUTHZ_AT_"), label="Authz type")


async def _attribute_type(world: World) -> dict[str, Any]:
    """A new type of NEKLS limited to LANSING (the system administrator's library)."""
    payload = await _created(
        world,
        """mutation($code: String!) { createAttributeType(input: {institution: "NEKLS",
             code: $code, label: "Authz type", libraryLimits: ["LANSING"]})
             { attributeType { id code } errors { code } } }""",
        {"code": world.unique("AUTHZ_AT_")},
        world.reader,
    )
    created: dict[str, Any] = payload["attributeType"]
    return created


async def _type_for(world: World, expect: Expect) -> dict[str, Any]:
    if expect.allowed:
        return await _attribute_type(world)
    return await once(world, "attribute type", lambda: _attribute_type(world))  # type: ignore[no-any-return]


async def p_update_attribute_type(world: World, actor: str, expect: Expect) -> Call:
    target = await _type_for(world, expect)
    return input_of(
        institution="NEKLS", code=target["code"], label="Authz renamed", allLibraries=True
    )


async def p_remove_attribute_type(world: World, actor: str, expect: Expect) -> Call:
    return input_of(id=(await _type_for(world, expect))["id"], deleteValues=True)


ATTRIBUTE_TYPES = """query { institution(code: "NEKLS") {
  attributeTypes { id code label libraryLimits { code } } } }"""


async def attribute_types_state(world: World, call: Call) -> Any:
    return await world.ok(world.reader, ATTRIBUTE_TYPES)


async def p_link(world: World, actor: str, expect: Expect) -> Call:
    source = await eastern_source(world)
    ref = await once(world, "ref", lambda: world.ref_of(source["barcode"]))
    return input_of(sourcePatron=ref, reason="MANUAL")


async def link_state(world: World, call: Call) -> Any:
    source = await eastern_source(world)
    return await world.ok(
        world.reader,
        """query($b: String!) { networkPatronSearch(input: {identifier: $b}) {
             matches { linkedAccount { id version } } } }""",
        {"b": source["barcode"]},
    )


async def p_copy(world: World, actor: str, expect: Expect) -> Call:
    if expect.allowed:
        copy = await world.linked_copy()
    else:
        copy = await once(world, "copy", world.linked_copy)
    return input_of(id=copy["id"])


async def p_create_rule(world: World, actor: str, expect: Expect) -> Call:
    return input_of(
        institution="NEKLS",
        name=world.unique("Matrix rule "),
        conditions=[
            {"parameter": "SOURCE_INSTITUTION", "operator": "EQUALS", "values": ["WESTERN"]}
        ],
        userGroup="ADULT",
        expiry={"mode": "NONE"},
        purge={"mode": "NONE"},
        refreshExpiryDate=False,
        refreshPurgeDate=False,
        copyNetworkBlocks=False,
    )


async def p_update_rule(world: World, actor: str, expect: Expect) -> Call:
    rule = await once(world, "rule", lambda: new_rule(world))
    return input_of(id=rule, name=world.unique("Renamed rule "))


async def p_rule_id(world: World, actor: str, expect: Expect) -> Call:
    return input_of(id=await rule_for(world, expect))


async def p_reorder(world: World, actor: str, expect: Expect) -> Call:
    async def two_rules() -> None:
        await new_rule(world)
        await new_rule(world)

    await once(world, "two rules", two_rules)
    data = await world.ok(world.reader, RULES)
    ids = [r["id"] for r in data["institution"]["linkedAccountRules"] if not r["isDefault"]]
    return input_of(institution="NEKLS", ruleIds=list(reversed(ids)))


async def p_add_restricted(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", userGroup="JUVENILE", description="authz")


async def p_remove_restricted(world: World, actor: str, expect: Expect) -> Call:
    async def restrict() -> None:
        data = await world.ok(
            world.reader,
            """mutation { addRestrictedUserGroup(input: {institution: "NEKLS", userGroup: "ILL"}) {
                 errors { code } } }""",
        )
        assert data["addRestrictedUserGroup"]["errors"] == []

    await once(world, "restricted", restrict)
    return input_of(institution="NEKLS", userGroup="ILL")


async def p_shared_fields(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", fields=[{"field": "PHONE", "shared": False}])


async def p_add_searchable(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", identifierType="BARCODE")


async def p_remove_searchable(world: World, actor: str, expect: Expect) -> Call:
    async def add() -> None:
        data = await world.ok(
            world.reader,
            """mutation { addSearchableIdentifierType(input: {institution: "NEKLS",
                 identifierType: "BARCODE"}) { errors { code } } }""",
        )
        assert data["addSearchableIdentifierType"]["errors"] == []

    await once(world, "searchable", add)
    return input_of(institution="NEKLS", identifierType="BARCODE", allTypes=True)


async def p_add_lookup(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", identifierType="BARCODE")


async def p_remove_lookup(world: World, actor: str, expect: Expect) -> Call:
    async def add() -> None:
        data = await world.ok(
            world.reader,
            """mutation { addLookupIdentifierType(input: {institution: "NEKLS",
                 identifierType: "BARCODE"}) { errors { code } } }""",
        )
        assert data["addLookupIdentifierType"]["errors"] == []

    await once(world, "lookup", add)
    return input_of(institution="NEKLS", identifierType="BARCODE", allTypes=True)


async def p_settings(world: World, actor: str, expect: Expect) -> Call:
    return input_of(institution="NEKLS", networkSearchByName=True)


async def p_check_out(world: World, actor: str, expect: Expect) -> Call:
    target = await shared_target(world)
    return input_of(patronId=target["id"], itemBarcode=world.unique("AUTHZ-OUT-"))


async def loans_state(world: World, call: Call) -> Any:
    target = await shared_target(world)
    return await world.read_patron(target["id"])


async def p_check_in(world: World, actor: str, expect: Expect) -> Call:
    target = await shared_target(world)
    if expect.allowed:
        item = await lend(world, target["id"])
    else:
        item = await once(world, "item", lambda: lend(world, target["id"]))
    return input_of(itemBarcode=item)


async def p_bounce(world: World, actor: str, expect: Expect) -> Call:
    target = await once(world, "bounced", world.target_patron)
    return input_of(address=target["primaryEmail"], kind="HARD_BOUNCE")


async def p_unblacklist(world: World, actor: str, expect: Expect) -> Call:
    if expect.allowed:
        patron = await blacklisted_patron(world)
    else:
        patron = await once(world, "bounced", lambda: blacklisted_patron(world))
    return input_of(address=patron["primaryEmail"])


def csv_upload(content: str, name: str = "patrons.csv") -> Upload:
    return Upload("variables.input.file", name, content.encode(), "text/csv")


async def p_import(world: World, actor: str, expect: Expect) -> Call:
    barcode = world.unique("AUTHZ-IMP-")
    return Call(
        {
            "input": {
                "institution": "NEKLS",
                "file": None,
                "matchOn": "BARCODE",
                "mode": "CREATE_ONLY",
                "dryRun": False,
            },
            "barcode": barcode,
        },
        csv_upload(f"barcode,surname,home_library\r\n{barcode},Imported,LANSING\r\n"),
    )


async def import_state(world: World, call: Call) -> Any:
    return await world.ok(
        world.reader,
        'query($s: String!) { patrons(institution: "NEKLS", filter: {search: $s}) { totalCount } }',
        {"s": call.variables["barcode"]},
    )


CREATE_LIBRARY_GROUP = """mutation($name: String!) {
  createLibraryGroup(input: {institution: "NEKLS", name: $name}) { errors { code message } }
}"""


async def group_member(world: World) -> dict[str, Any]:
    data = await world.ok(world.reader, CREATE_LIBRARY_GROUP, {"name": "Authz members"})
    assert data["createLibraryGroup"]["errors"] == [], data
    return await world.target_patron(adminSystemId="AUTHZ-ADM-GROUP")


async def p_memberships(world: World, actor: str, expect: Expect) -> Call:
    await once(world, "member", lambda: group_member(world))
    return Call(
        {"input": {"institution": "NEKLS", "file": None, "dryRun": False}},
        csv_upload("group,admin_system_id\r\nAuthz members,AUTHZ-ADM-GROUP\r\n", "groups.csv"),
    )


async def membership_state(world: World, call: Call) -> Any:
    return await world.read_patron(world.accounts["_once"]["member"]["id"])


def photo_zip(name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(f"{name}.png", png())
    return out.getvalue()


async def p_photos(world: World, actor: str, expect: Expect) -> Call:
    await once(world, "pictured", lambda: world.target_patron(adminSystemId="AUTHZ-ADM-PHOTO"))
    return Call(
        {"input": {"institution": "NEKLS", "file": None, "dryRun": False}},
        Upload(
            "variables.input.file", "photos.zip", photo_zip("AUTHZ-ADM-PHOTO"), "application/zip"
        ),
    )


async def photos_state(world: World, call: Call) -> Any:
    return await world.read_patron(world.accounts["_once"]["pictured"]["id"])


async def p_usernames(world: World, actor: str, expect: Expect) -> Call:
    target = await shared_target(world)
    return input_of(
        institution="NEKLS",
        changes=[{"patronId": target["id"], "newUsername": world.unique("authz.renamed")}],
        dryRun=False,
    )


async def usernames_state(world: World, call: Call) -> Any:
    return await world.read_patron(call.variables["input"]["changes"][0]["patronId"])


async def merge_pair(world: World) -> tuple[str, str]:
    survivor = await world.target_patron()
    duplicate = await world.create_patron(surname=survivor["surname"], givenName="Dup")
    return survivor["id"], duplicate["id"]


async def p_merge(world: World, actor: str, expect: Expect) -> Call:
    if expect.allowed:
        survivor, duplicate = await merge_pair(world)
    else:
        survivor, duplicate = await once(world, "pair", lambda: merge_pair(world))
    return input_of(survivor=survivor, duplicates=[duplicate])


async def merge_state(world: World, call: Call) -> Any:
    data = call.variables["input"]
    return [
        await world.read_patron(data["survivor"]),
        await world.read_patron(data["duplicates"][0]),
    ]


async def p_authenticate(world: World, actor: str, expect: Expect) -> Call:
    return input_of(barcode="AUTHZ-PATRON", password=PASSWORD)


async def p_create_sip(world: World, actor: str, expect: Expect) -> Call:
    return input_of(
        institution="NEKLS", loginId=world.unique("authz-sip-"), secret="Authz-sip-secret-1"
    )


async def p_update_sip(world: World, actor: str, expect: Expect) -> Call:
    return input_of(loginId="nekls-vendor", homeLibraryScreenMessage=True)


async def _sip_account(world: World) -> str:
    payload = await _created(
        world,
        """mutation($login: String!) { createSipAccount(input: {institution: "NEKLS",
             loginId: $login, secret: "Authz-sip-secret-1"}) { account { id } errors { code } } }""",
        {"login": world.unique("authz-gone-")},
        world.reader,
    )
    account_id: str = payload["account"]["id"]
    return account_id


async def p_delete_sip(world: World, actor: str, expect: Expect) -> Call:
    if expect.allowed:
        return input_of(id=await _sip_account(world))
    return input_of(id=await once(world, "sip account", lambda: _sip_account(world)))


PATRON_NODE = """query($id: ID!) {
  node(id: $id) { __typename id ... on Patron { surname attributes { type { code } values } } }
}"""

CASES: dict[str, Case] = {
    # ------------------------------------------------------------ queries
    "node": Case(
        PATRON_NODE,
        matrix(PATRON_READ),
        prepare=p_node,
        verify=verify_node,
        empty=lambda r: r is None,
        scopes=("patron_read",),
    ),
    "nodes": Case(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        matrix(PATRON_READ),
        prepare=p_nodes,
        verify=verify_nodes,
        empty=nodes_empty,
        scopes=("patron_read",),
    ),
    "viewer": Case(
        "{ viewer { patron { id } institution { code } library { code } systemGroups } }",
        matrix(AUTHENTICATED, anonymous=OK),
        verify=verify_viewer,
    ),
    "network": Case(
        "{ network { name institutions { code } identifierTypes { code } attributeTypes { code } } }",
        matrix(AUTHENTICATED),
        verify=verify_network,
    ),
    "institution": Case(
        """{ institution(code: "NEKLS") { code libraries { code } userGroups { code }
             linkedAccountRules { id } restrictedUserGroups { userGroup { code } }
             alerts { code } sharedFields { field shared } settings { networkSearchByName } } }""",
        matrix(AUTHENTICATED),
        prepare=prepare_institution,
        verify=verify_institution,
    ),
    "patrons": Case(
        """query($search: String!) { patrons(institution: "NEKLS", filter: {search: $search}) {
             totalCount edges { node { id } } } }""",
        matrix(PATRON_READ),
        prepare=p_patrons,
        verify=verify_patrons,
        empty=connection_empty,
        scopes=("patron_read",),
    ),
    "attributeDiscrepancies": Case(
        """{ attributeDiscrepancies(attributeType: "KANOPY_LANSING", kind: PRESENT_OUT_OF_SCOPE,
             first: 5) { totalCount edges { node { id } } } }""",
        matrix(
            PATRON_READ,
            circulation=EMPTY,  # reports are librarians' work
            librarian_other_library=EMPTY,  # Kanopy (LANSING) is not for BASEHOR sessions
        ),
        verify=verify_discrepancies,
        empty=connection_empty,
        scopes=("patron_read", "attribute:KANOPY_LANSING"),
        scopes_without=("patron_read", "linking", "patron_auth", "email"),
    ),
    "networkPatronSearch": Case(
        """query($identifier: String!) { networkPatronSearch(input: {identifier: $identifier}) {
             matches { ref institution { code } surname } errors { code message field } } }""",
        # EASTERN searches every *other* member; the desk (CIRCULATION) by identifier.
        matrix(LINKER, system_admin_other=EMPTY, circulation=OK),
        prepare=p_search,
        verify=verify_search,
        empty=search_empty,
        scopes=("linking",),
        searches=True,
    ),
    "evaluateLinkedAccountRules": Case(
        """{ evaluateLinkedAccountRules(institution: "NEKLS", sourceInstitution: "EASTERN") {
             rule { id name } userGroup { code } expiryDate } }""",
        matrix(
            ADMIN_OF_INSTITUTION,
            **{a: refused("FORBIDDEN") for a in ACTORS if a not in ("anonymous", "system_admin")},
        ),
    ),
    "sipAccounts": Case(
        '{ sipAccounts(institution: "NEKLS") { loginId institution { code } } }',
        matrix(
            ADMIN_OF_INSTITUTION,
            **{a: EMPTY for a in ACTORS if a not in ("anonymous", "system_admin")},
        ),
        verify=verify_sip_accounts,
        empty=lambda r: r == [],
    ),
    # ------------------------------------------------------------ sessions and clients
    "login": Case(
        """mutation($u: String!, $p: String!, $l: String!) {
             login(input: {username: $u, password: $p, library: $l}) {
               token viewer { patron { id } } errors { code message } } }""",
        matrix(AUTHENTICATED, anonymous=OK),
        prepare=p_login,
    ),
    "logout": Case(
        "mutation { logout { errors { code message } } }",
        # Logging out without a session is a no-op, not an error.
        matrix(AUTHENTICATED, anonymous=OK),
        verify=verify_logout,
    ),
    "createApiClient": Case(
        """mutation($input: CreateApiClientInput!) { createApiClient(input: $input) {
             client { name } secret errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_create_client,
    ),
    "revokeApiClient": Case(
        """mutation($input: ApiClientInput!) { revokeApiClient(input: $input) {
             client { id enabled } errors { code message field } } }""",
        CLIENT_ADMIN,
        prepare=p_api_client,
        state=api_client_state,
    ),
    "updateApiClient": Case(
        """mutation($input: UpdateApiClientInput!) { updateApiClient(input: $input) {
             client { id name scopes } errors { code message field } } }""",
        CLIENT_ADMIN,
        prepare=p_update_api_client,
        state=api_client_full_state,
    ),
    "rotateApiClientSecret": Case(
        """mutation($input: ApiClientInput!) { rotateApiClientSecret(input: $input) {
             client { id enabled } secret errors { code message field } } }""",
        CLIENT_ADMIN,
        prepare=p_api_client,
        state=api_client_state,
    ),
    "apiClients": Case(
        '{ apiClients(institution: "NEKLS") { id name institutionCode enabled } }',
        matrix(
            ADMIN_OF_INSTITUTION,
            **{a: EMPTY for a in ACTORS if a not in ("anonymous", "system_admin")},
        ),
        verify=verify_api_clients,
        empty=lambda r: r == [],
    ),
    # ------------------------------------------------------------ patrons
    "createPatron": Case(
        f"""mutation($input: CreatePatronInput!) {{ createPatron(input: $input) {{ {PATRON_PAYLOAD} }} }}""",
        matrix(
            LIBRARIAN_OF_INSTITUTION,
            # Setting Kanopy (LANSING) from a BASEHOR session.
            librarian_other_library=denied("ATTRIBUTE_FORBIDDEN"),
        ),
        prepare=p_create_patron,
        state=created_patron_state,
    ),
    "updatePatron": Case(
        f"""mutation($input: UpdatePatronInput!) {{ updatePatron(input: $input) {{ {PATRON_PAYLOAD} }} }}""",
        matrix(LIBRARIAN_ON_PATRON, librarian_other_library=denied("ATTRIBUTE_FORBIDDEN")),
        prepare=p_update_patron,
        state=read_target,
    ),
    "deletePatron": Case(
        """mutation($input: DeletePatronInput!) { deletePatron(input: $input) {
             deletedId errors { code message field } } }""",
        matrix(LIBRARIAN_ON_PATRON),
        prepare=p_patron_id,
        state=read_target,
    ),
    "addPatronBlock": Case(
        f"""mutation($input: AddPatronBlockInput!) {{ addPatronBlock(input: $input) {{ {PATRON_PAYLOAD} }} }}""",
        matrix(LIBRARIAN_ON_PATRON),
        prepare=p_add_block,
        state=lambda w, c: read_target(w, c, "patronId"),
    ),
    "removePatronBlock": Case(
        f"""mutation($input: RemovePatronBlockInput!) {{ removePatronBlock(input: $input) {{ {PATRON_PAYLOAD} }} }}""",
        matrix(LIBRARIAN_ON_PATRON),
        prepare=p_remove_block,
        state=lambda w, c: w.read_patron(w.accounts["_once"]["target"]["id"]),
    ),
    "setPatronPhoto": Case(
        SET_PHOTO,
        matrix(LIBRARIAN_ON_PATRON),
        prepare=p_set_photo,
        state=lambda w, c: read_target(w, c, "patronId"),
    ),
    "removePatronPhoto": Case(
        f"""mutation($input: RemovePatronPhotoInput!) {{ removePatronPhoto(input: $input) {{ {PATRON_PAYLOAD} }} }}""",
        matrix(LIBRARIAN_ON_PATRON),
        prepare=p_remove_photo,
        state=lambda w, c: read_target(w, c, "patronId"),
    ),
    # ------------------------------------------------------------ network structure
    "createInstitution": Case(
        """mutation($input: CreateInstitutionInput!) { createInstitution(input: $input) {
             institution { code } errors { code message field } } }""",
        matrix(NETWORK_ADMIN_ONLY),
        prepare=p_create_institution,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "createLibrary": Case(
        """mutation($input: CreateLibraryInput!) { createLibrary(input: $input) {
             library { code } errors { code message field } } }""",
        matrix(NETWORK_ADMIN_ONLY),
        prepare=p_create_library,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "createIdentifierType": Case(
        """mutation($input: CreateIdentifierTypeInput!) { createIdentifierType(input: $input) {
             identifierType { code } errors { code message field } } }""",
        matrix(NETWORK_ADMIN_ONLY),
        prepare=p_create_identifier_type,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "createUserGroup": Case(
        """mutation($input: CreateUserGroupInput!) { createUserGroup(input: $input) {
             userGroup { code } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_create_user_group,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "createLibraryGroup": Case(
        """mutation($input: CreateLibraryGroupInput!) { createLibraryGroup(input: $input) {
             libraryGroup { name } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_create_library_group,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "createBlockType": Case(
        """mutation($input: CreateBlockTypeInput!) { createBlockType(input: $input) {
             blockType { code } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_create_block_type,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "updateInstitution": Case(
        """mutation($input: UpdateInstitutionInput!) { updateInstitution(input: $input) {
             institution { name } errors { code message field } } }""",
        matrix(NETWORK_ADMIN_ONLY),
        prepare=p_update_institution,
        state=network_structure,
    ),
    "updateLibrary": Case(
        """mutation($input: UpdateLibraryInput!) { updateLibrary(input: $input) {
             library { name } errors { code message field } } }""",
        matrix(NETWORK_ADMIN_ONLY),
        prepare=p_update_library,
        state=network_structure,
    ),
    "updateIdentifierType": Case(
        """mutation($input: UpdateIdentifierTypeInput!) { updateIdentifierType(input: $input) {
             identifierType { name } errors { code message field } } }""",
        matrix(NETWORK_ADMIN_ONLY),
        prepare=p_update_identifier_type,
        state=network_structure,
    ),
    "updateUserGroup": Case(
        """mutation($input: UpdateUserGroupInput!) { updateUserGroup(input: $input) {
             userGroup { loanPeriodDays } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_update_user_group,
        state=network_structure,
    ),
    "updateLibraryGroup": Case(
        """mutation($input: UpdateLibraryGroupInput!) { updateLibraryGroup(input: $input) {
             libraryGroup { description } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_update_library_group,
        state=network_structure,
    ),
    "updateBlockType": Case(
        """mutation($input: UpdateBlockTypeInput!) { updateBlockType(input: $input) {
             blockType { description } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_update_block_type,
        state=network_structure,
    ),
    "removeInstitution": Case(
        """mutation($input: RemoveInstitutionInput!) { removeInstitution(input: $input) {
             removedCode errors { code message field } } }""",
        matrix(NETWORK_ADMIN_ONLY),
        prepare=p_remove_institution,
        state=network_structure,
    ),
    "removeLibrary": Case(
        """mutation($input: RemoveLibraryInput!) { removeLibrary(input: $input) {
             removedCode errors { code message field } } }""",
        matrix(NETWORK_ADMIN_ONLY),
        prepare=p_remove_library,
        state=network_structure,
    ),
    "removeIdentifierType": Case(
        """mutation($input: RemoveIdentifierTypeInput!) { removeIdentifierType(input: $input) {
             removedCode errors { code message field } } }""",
        matrix(NETWORK_ADMIN_ONLY),
        prepare=p_remove_identifier_type,
        state=network_structure,
    ),
    "removeUserGroup": Case(
        """mutation($input: RemoveUserGroupInput!) { removeUserGroup(input: $input) {
             removedCode errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_remove_user_group,
        state=network_structure,
    ),
    "removeLibraryGroup": Case(
        """mutation($input: RemoveLibraryGroupInput!) { removeLibraryGroup(input: $input) {
             removedId errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_remove_library_group,
        state=network_structure,
    ),
    "removeBlockType": Case(
        """mutation($input: RemoveBlockTypeInput!) { removeBlockType(input: $input) {
             removedCode errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_remove_block_type,
        state=network_structure,
    ),
    "addPatronValueChoice": Case(
        """mutation($input: AddPatronValueChoiceInput!) { addPatronValueChoice(input: $input) {
             choice { value } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_add_value_choice,
        state=choice_lists,
        state_key=lambda call: "choices",
    ),
    "removePatronValueChoice": Case(
        """mutation($input: RemovePatronValueChoiceInput!) {
             removePatronValueChoice(input: $input) {
               removedValue errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_remove_value_choice,
        state=choice_lists,
    ),
    "importPatronValueChoices": Case(
        """mutation($input: ImportPatronValueChoicesInput!) {
             importPatronValueChoices(input: $input) { added updated unchanged written
               problems { where code message } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_import_value_choices,
        state=choice_lists,
        state_key=lambda call: "choices",
    ),
    # ------------------------------------------------------------ attributes
    "applyAttributeRule": Case(
        """mutation($input: ApplyAttributeRuleInput!) { applyAttributeRule(input: $input) {
             updated { id } errors { code message field } } }""",
        matrix(
            anonymous=UNAUTH,
            # LANSING sessions may see the type but only librarians apply rules.
            patron=FORBIDDEN,
            generic=FORBIDDEN,
            circulation=FORBIDDEN,
            librarian_other_library=denied("ATTRIBUTE_FORBIDDEN"),
            librarian=OK,
            system_admin=OK,
            # EASTERN has no such type: the answer of a type that does not exist.
            system_admin_other=denied("INVALID_INPUT"),
            network_admin=FORBIDDEN,
            client_with_scope=FORBIDDEN,
            client_without_scope=denied("ATTRIBUTE_FORBIDDEN"),
        ),
        prepare=p_apply_rule,
        state=apply_rule_state,
        scopes=("patron_read", "attribute:KANOPY_LANSING"),
        scopes_without=("patron_read", "linking", "patron_auth", "email"),
    ),
    "updateAttributeType": Case(
        """mutation($input: UpdateAttributeTypeInput!) { updateAttributeType(input: $input) {
             attributeType { code label } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_update_attribute_type,
        state=attribute_types_state,
        state_key=lambda call: "types",
    ),
    "removeAttributeType": Case(
        """mutation($input: RemoveAttributeTypeInput!) { removeAttributeType(input: $input) {
             removedCode errors { code message field } } }""",
        # By id: another institution's type does not exist for the caller.
        matrix(ADMIN_OF_INSTITUTION, system_admin_other=NOT_FOUND),
        prepare=p_remove_attribute_type,
        state=attribute_types_state,
        state_key=lambda call: "types",
    ),
    "createAttributeType": Case(
        """mutation($input: CreateAttributeTypeInput!) { createAttributeType(input: $input) {
             attributeType { code } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_create_attribute_type,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    # ------------------------------------------------------------ linking
    "linkAccount": Case(
        """mutation($input: LinkAccountInput!) { linkAccount(input: $input) {
             linkedAccount { id } created errors { code message field } } }""",
        # A NEKLS ref is meaningless at EASTERN: the source is not found.
        matrix(LINKER, system_admin_other=denied("SOURCE_NOT_FOUND")),
        prepare=p_link,
        state=link_state,
        scopes=("linking",),
    ),
    "refreshLinkedAccount": Case(
        """mutation($input: RefreshLinkedAccountInput!) { refreshLinkedAccount(input: $input) {
             linkedAccount { id } created errors { code message field } } }""",
        matrix(LINKER),
        prepare=p_copy,
        state=read_target,
        scopes=("linking",),
    ),
    "unlinkAccount": Case(
        """mutation($input: UnlinkAccountInput!) { unlinkAccount(input: $input) {
             deletedId errors { code message field } } }""",
        matrix(LINKER),
        prepare=p_copy,
        state=read_target,
        scopes=("linking",),
    ),
    "createLinkedAccountRule": Case(
        """mutation($input: CreateLinkedAccountRuleInput!) { createLinkedAccountRule(input: $input) {
             rule { id } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_create_rule,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "updateLinkedAccountRule": Case(
        """mutation($input: UpdateLinkedAccountRuleInput!) { updateLinkedAccountRule(input: $input) {
             rule { id name } errors { code message field } } }""",
        matrix(ADMIN_OBJECT),
        prepare=p_update_rule,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "duplicateLinkedAccountRule": Case(
        """mutation($input: DuplicateLinkedAccountRuleInput!) {
             duplicateLinkedAccountRule(input: $input) { rule { id } errors { code message field } } }""",
        matrix(ADMIN_OBJECT),
        prepare=p_rule_id,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "deleteLinkedAccountRule": Case(
        """mutation($input: DeleteLinkedAccountRuleInput!) { deleteLinkedAccountRule(input: $input) {
             rules { id } errors { code message field } } }""",
        matrix(ADMIN_OBJECT),
        prepare=p_rule_id,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "reorderLinkedAccountRules": Case(
        """mutation($input: ReorderLinkedAccountRulesInput!) {
             reorderLinkedAccountRules(input: $input) { rules { id } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_reorder,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "addRestrictedUserGroup": Case(
        """mutation($input: AddRestrictedUserGroupInput!) { addRestrictedUserGroup(input: $input) {
             institution { code } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_add_restricted,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "removeRestrictedUserGroup": Case(
        """mutation($input: RemoveRestrictedUserGroupInput!) {
             removeRestrictedUserGroup(input: $input) { institution { code } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_remove_restricted,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "setSharedFields": Case(
        """mutation($input: SetSharedFieldsInput!) { setSharedFields(input: $input) {
             institution { code } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_shared_fields,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "addSearchableIdentifierType": Case(
        """mutation($input: SearchableIdentifierTypeInput!) {
             addSearchableIdentifierType(input: $input) { institution { code } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_add_searchable,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "removeSearchableIdentifierType": Case(
        """mutation($input: SearchableIdentifierTypeInput!) {
             removeSearchableIdentifierType(input: $input) { institution { code } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_remove_searchable,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "addLookupIdentifierType": Case(
        """mutation($input: LookupIdentifierTypeInput!) {
             addLookupIdentifierType(input: $input) { institution { code } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_add_lookup,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "removeLookupIdentifierType": Case(
        """mutation($input: LookupIdentifierTypeInput!) {
             removeLookupIdentifierType(input: $input) { institution { code } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_remove_lookup,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "updateInstitutionSettings": Case(
        """mutation($input: UpdateInstitutionSettingsInput!) {
             updateInstitutionSettings(input: $input) { institution { code } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_settings,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    # ------------------------------------------------------------ circulation
    "checkOut": Case(
        """mutation($input: CheckOutInput!) { checkOut(input: $input) {
             loan { id } errors { code message field } } }""",
        matrix(LIBRARIAN_ON_PATRON, circulation=OK),
        prepare=p_check_out,
        state=loans_state,
        scopes=("patron_read",),
    ),
    "checkIn": Case(
        """mutation($input: CheckInInput!) { checkIn(input: $input) {
             loan { id } errors { code message field } } }""",
        matrix(
            LIBRARIAN_OF_INSTITUTION,
            circulation=OK,
            # EASTERN circulation finds no such loan of its own.
            system_admin_other=NOT_FOUND,
        ),
        prepare=p_check_in,
        state=loans_state,
    ),
    # ------------------------------------------------------------ emails
    "reportEmailBounce": Case(
        """mutation($input: ReportEmailBounceInput!) { reportEmailBounce(input: $input) {
             blacklisted { address } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION, system_admin=FORBIDDEN, client_with_scope=OK),
        prepare=p_bounce,
        state=lambda w, c: w.read_patron(w.accounts["_once"]["bounced"]["id"]),
        scopes=("email",),
    ),
    "removeEmailFromBlacklist": Case(
        """mutation($input: RemoveEmailFromBlacklistInput!) {
             removeEmailFromBlacklist(input: $input) { removedAddress errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_unblacklist,
        state=read_alerts,
    ),
    # ------------------------------------------------------------ lifecycle
    "importPatrons": Case(
        """mutation($input: ImportPatronsInput!) { importPatrons(input: $input) {
             job { id status created } errors { code message field } } }""",
        matrix(LIBRARIAN_OF_INSTITUTION),
        prepare=p_import,
        state=import_state,
    ),
    "importLibraryGroupMemberships": Case(
        """mutation($input: ImportLibraryGroupMembershipsInput!) {
             importLibraryGroupMemberships(input: $input) { added unchanged written
               problems { where code message } errors { code message field } } }""",
        matrix(LIBRARIAN_OF_INSTITUTION),
        prepare=p_memberships,
        state=membership_state,
    ),
    "importPatronPhotos": Case(
        """mutation($input: ImportPatronPhotosInput!) {
             importPatronPhotos(input: $input) { added unchanged written
               problems { where code message } errors { code message field } } }""",
        matrix(LIBRARIAN_OF_INSTITUTION),
        prepare=p_photos,
        state=photos_state,
    ),
    "changeUsernames": Case(
        """mutation($input: ChangeUsernamesInput!) { changeUsernames(input: $input) {
             changes { patron { id } newUsername } errors { code message field } } }""",
        matrix(LIBRARIAN_OF_INSTITUTION),
        prepare=p_usernames,
        state=usernames_state,
        state_key=lambda call: call.variables["input"]["changes"][0]["patronId"],
    ),
    "mergePatrons": Case(
        """mutation($input: MergePatronsInput!) { mergePatrons(input: $input) {
             patron { id } loansMoved errors { code message field } } }""",
        matrix(LIBRARIAN_ON_PATRON),
        prepare=p_merge,
        state=merge_state,
    ),
    # ------------------------------------------------------------ vendors
    "authenticatePatron": Case(
        """mutation($input: AuthenticatePatronInput!) { authenticatePatron(input: $input) {
             validPatron validPassword displayName errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION, system_admin=FORBIDDEN, client_with_scope=OK),
        prepare=p_authenticate,
        verify=verify_authenticated_patron,
        scopes=("patron_auth",),
    ),
    "createSipAccount": Case(
        """mutation($input: CreateSipAccountInput!) { createSipAccount(input: $input) {
             account { loginId } errors { code message field } } }""",
        matrix(ADMIN_OF_INSTITUTION),
        prepare=p_create_sip,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "updateSipAccount": Case(
        """mutation($input: UpdateSipAccountInput!) { updateSipAccount(input: $input) {
             account { loginId } errors { code message field } } }""",
        # Another institution's SIP account does not exist for the caller.
        matrix(ADMIN_OBJECT),
        prepare=p_update_sip,
        state=institution_config,
        state_key=lambda call: "config",
    ),
    "deleteSipAccount": Case(
        """mutation($input: DeleteSipAccountInput!) { deleteSipAccount(input: $input) {
             deletedLoginId errors { code message field } } }""",
        # Another institution's SIP account does not exist for the caller.
        matrix(ADMIN_OBJECT),
        prepare=p_delete_sip,
        state=institution_config,
        state_key=lambda call: "config",
    ),
}
