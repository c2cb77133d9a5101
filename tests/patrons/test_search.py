"""patrons(...): search by identifier, username and name; keyset pagination in name order."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.graphql import GraphQL
from tests.support.patrons import PatronApi

# (surname, given name, extra fields); "Xoq" starts no seeded name.
PEOPLE: list[tuple[str, str | None, dict[str, Any]]] = [
    ("Xoqter", "Bob", {"username": "Xoq.Bob", "barcode": "XQ-Bar-01"}),
    ("Xoqter", "Anna", {"adminSystemId": "XQ-ADM-7", "homeLibrary": "BASEHOR"}),
    ("Xoq", "Zed", {"userGroup": "JUVENILE"}),
    ("Xoqist", "Robert", {"preferredName": "Bobby", "homeLibrary": "BASEHOR"}),
    ("Xoqa", "Amy", {"identifiers": [{"type": "CONSORTIAL_ID", "value": "XQ-CONS-3"}]}),
    ("Xoqter", "anna", {"userGroup": "JUVENILE", "homeLibrary": "BASEHOR"}),
    ("Xoqby", None, {}),
]
# (surname, given name) order; equal names in the order they were registered.
NAME_ORDER = [
    ("Xoq", "Zed"),
    ("Xoqa", "Amy"),
    ("Xoqby", None),
    ("Xoqist", "Robert"),
    ("Xoqter", "Anna"),
    ("Xoqter", "anna"),
    ("Xoqter", "Bob"),
]


async def register_people(api: PatronApi, token: str) -> dict[tuple[str, str | None], str]:
    ids: dict[tuple[str, str | None], str] = {}
    for surname, given, extra in PEOPLE:
        fields: dict[str, Any] = {"surname": surname, **extra}
        if given is not None:
            fields["givenName"] = given
        patron = await api.create(token, **fields)
        ids[(surname, given)] = patron["id"]
    return ids


def names(connection: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["node"]["surname"], e["node"]["givenName"]) for e in connection["edges"]]


async def walk(
    api: PatronApi, token: str, institution: str, size: int, **flt: Any
) -> list[dict[str, Any]]:
    """Every page of a listing, checking each page's bookkeeping on the way."""
    pages = []
    after = None
    total = None
    while True:
        page = await api.search(token, institution, first=size, after=after, **flt)
        total = page["totalCount"] if total is None else total
        assert page["totalCount"] == total
        assert len(page["edges"]) <= size
        info = page["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        if page["edges"]:
            assert info["startCursor"] == page["edges"][0]["cursor"]
            assert info["endCursor"] == page["edges"][-1]["cursor"]
        pages.append(page)
        if not info["hasNextPage"]:
            break
        assert len(page["edges"]) == size
        after = info["endCursor"]
        assert len(pages) <= 200, "pagination does not end"
    return pages


# ---------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("XQ-Bar-01", [("Xoqter", "Bob")]),
        ("xq-bar-01", [("Xoqter", "Bob")]),
        ("  XQ-BAR-01 ", [("Xoqter", "Bob")]),
        ("xq-adm-7", [("Xoqter", "Anna")]),
        ("XQ-cons-3", [("Xoqa", "Amy")]),
        ("xoq.bob", [("Xoqter", "Bob")]),
        ("XOQ.BOB", [("Xoqter", "Bob")]),
        ("xoqt", [("Xoqter", "Anna"), ("Xoqter", "anna"), ("Xoqter", "Bob")]),
        ("XOQ", NAME_ORDER),
        ("Anna Xoqter", [("Xoqter", "Anna"), ("Xoqter", "anna")]),
        ("xoqter  anna", [("Xoqter", "Anna"), ("Xoqter", "anna")]),
        ("Bob Xoqter", [("Xoqter", "Bob")]),
        ("bobby", [("Xoqist", "Robert")]),
        ("bob xoq", [("Xoqist", "Robert"), ("Xoqter", "Bob")]),
        ("Amy Xoqter", []),
        ("xq-bar", []),  # identifiers match whole values only
        ("xoq.b", [("Xoqter", "Bob")]),  # usernames by prefix
        ("xoq.bobby", []),
        ("xoq.b%", []),  # LIKE wildcards are plain characters in usernames too
        ("oqter", []),  # names match from the start of a word
        ("%", []),  # LIKE wildcards are plain characters
        ("xo_", []),
    ],
)
async def test_search(
    api: PatronApi, lansing: str, term: str, expected: list[tuple[str, str | None]]
) -> None:
    # Given the Xoq patrons
    await register_people(api, lansing)
    # When the librarian searches
    found = await api.search(lansing, search=term, first=50)
    # Then exactly the matching ones come back, in name order
    assert names(found) == expected
    assert found["totalCount"] == len(expected)
    assert found["pageInfo"]["hasNextPage"] is False


async def test_search_by_seeded_university_id(api: PatronApi, eastern_admin: str) -> None:
    found = await api.search(eastern_admin, "EASTERN", search="e0000005")
    assert found["totalCount"] == 1
    node = found["edges"][0]["node"]
    patron = await api.read(eastern_admin, node["id"])
    assert patron is not None
    assert {
        "type": {"code": "UNIV_ID", "name": "University ID", "networkUnique": False},
        "value": "E0000005",
    } in patron["identifiers"]


async def test_search_stays_in_the_institution(
    api: PatronApi, lansing: str, eastern_admin: str
) -> None:
    # Given the same barcode in NEKLS and EASTERN
    nekls = await api.create(lansing, surname="Homebody", barcode="SAME-BC")
    await api.create(
        eastern_admin,
        institution="EASTERN",
        homeLibrary="EASTERN-MAIN",
        surname="Homebody",
        barcode="SAME-BC",
    )
    # When NEKLS searches it
    found = await api.search(lansing, search="same-bc")
    # Then only its own patron comes back
    assert [e["node"]["id"] for e in found["edges"]] == [nekls["id"]]
    assert found["totalCount"] == 1


async def test_filters(api: PatronApi, lansing: str) -> None:
    await register_people(api, lansing)
    assert names(await api.search(lansing, search="xoq", homeLibrary="basehor")) == [
        ("Xoqist", "Robert"),
        ("Xoqter", "Anna"),
        ("Xoqter", "anna"),
    ]
    assert names(await api.search(lansing, search="xoq", userGroup="JUVENILE")) == [
        ("Xoq", "Zed"),
        ("Xoqter", "anna"),
    ]
    assert names(
        await api.search(lansing, search="xoq", userGroup="JUVENILE", homeLibrary="BASEHOR")
    ) == [("Xoqter", "anna")]
    assert names(await api.search(lansing, search="xoq", accountType="HOME")) == NAME_ORDER
    for flt in (
        {"accountType": "LINKED"},
        {"homeLibrary": "NOWHERE"},
        {"homeLibrary": "EASTERN-MAIN"},
        {"userGroup": "UNDERGRAD"},
    ):
        found = await api.search(lansing, search="xoq", **flt)
        assert (found["totalCount"], found["edges"]) == (0, []), flt


# ---------------------------------------------------------------- pagination


async def test_pages_of_two_walk_every_row_once_in_name_order(api: PatronApi, lansing: str) -> None:
    # Given the Xoq patrons
    ids = await register_people(api, lansing)
    # When the search is read two at a time
    pages = await walk(api, lansing, "NEKLS", 2, search="xoq")
    # Then each patron comes exactly once, in (surname, given name) order
    assert [len(p["edges"]) for p in pages] == [2, 2, 2, 1]
    assert [n for p in pages for n in names(p)] == NAME_ORDER
    walked = [e["node"]["id"] for p in pages for e in p["edges"]]
    assert walked == [ids[name] for name in NAME_ORDER]
    assert {p["totalCount"] for p in pages} == {7}
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, True, False]


@pytest.mark.parametrize(
    "flt",
    [
        {},
        {"homeLibrary": "BASEHOR"},
        {"userGroup": "ADULT"},
        {"homeLibrary": "LANSING", "userGroup": "JUVENILE"},
    ],
)
async def test_walk_seeded_patrons_with_filters(
    api: PatronApi, lansing: str, flt: dict[str, Any]
) -> None:
    # Given the seeded NEKLS patrons
    everything = await api.search(lansing, first=100, **flt)
    assert everything["pageInfo"]["hasNextPage"] is False
    expected = [e["node"]["id"] for e in everything["edges"]]
    assert len(expected) == everything["totalCount"] > 0
    # When the same listing is read two at a time
    pages = await walk(api, lansing, "NEKLS", 2, **flt)
    walked = [e["node"] for p in pages for e in p["edges"]]
    # Then it is the same rows, once each, in name order
    assert [n["id"] for n in walked] == expected
    assert len(set(expected)) == len(expected)
    keys = [((n["surname"] or "").lower(), (n["givenName"] or "").lower()) for n in walked]
    assert keys == sorted(keys)
    for node in walked:
        if "homeLibrary" in flt:
            assert node["homeLibrary"]["code"] == flt["homeLibrary"]


async def test_first_is_capped_at_100(gql: GraphQL, api: PatronApi, lansing: str) -> None:
    # Given more than 100 NEKLS patrons (44 seeded plus 75 new, created 25 per request)
    for batch in range(3):
        parts = [
            f'p{n}: createPatron(input: {{institution: "NEKLS", homeLibrary: "LANSING", '
            f'surname: "Bulk{batch:02d}{n:02d}"}}) {{ errors {{ code }} }}'
            for n in range(25)
        ]
        data = await gql.ok("mutation {" + "\n".join(parts) + "}", token=lansing)
        assert all(v == {"errors": []} for v in data.values())
    total = await api.count(lansing)
    assert total == 44 + 75
    # When 150 are asked for
    first = await api.search(lansing, first=150)
    # Then 100 come back, and the rest on the next page
    assert len(first["edges"]) == 100
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await api.search(lansing, first=150, after=first["pageInfo"]["endCursor"])
    assert len(rest["edges"]) == total - 100
    assert rest["pageInfo"]["hasNextPage"] is False
    ids = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert len(set(ids)) == total
    # ... the literal form is capped the same way
    literal = await gql.ok(
        '{ patrons(institution: "NEKLS", first: 1000) { edges { cursor } } }', token=lansing
    )
    assert len(literal["patrons"]["edges"]) == 100


async def test_default_page_and_negative_first(gql: GraphQL, api: PatronApi, lansing: str) -> None:
    default = await api.search(lansing)
    assert len(default["edges"]) == 20
    assert default["pageInfo"]["hasNextPage"] is True
    body = await gql('{ patrons(institution: "NEKLS", first: -1) { totalCount } }', token=lansing)
    assert body["data"] is None
    assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
        ("first cannot be negative.", {"code": "INVALID_INPUT"})
    ]


async def test_unknown_institution_is_empty(api: PatronApi, lansing: str) -> None:
    found = await api.search(lansing, "NOWHERE")
    assert (found["totalCount"], found["edges"], found["pageInfo"]["hasNextPage"]) == (0, [], False)


async def test_a_search_term_longer_than_any_key_is_refused(gql: GraphQL, lansing: str) -> None:
    query = (
        'query($s: String!) { patrons(institution: "NEKLS", filter: {search: $s}) { totalCount } }'
    )
    # 200 characters (padded with spaces, which do not count): searched, nothing found
    data = await gql.ok(query, {"s": "  " + "x" * 200 + "  "}, lansing)
    assert data["patrons"]["totalCount"] == 0
    # 201: refused with the reason, not cut to fit
    body = await gql(query, {"s": "x" * 201}, lansing)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["message"] == "The search term has 201 characters; at most 200."
