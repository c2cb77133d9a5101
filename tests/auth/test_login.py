"""Logging in, out, and who the viewer is."""

from __future__ import annotations

from tests.support.graphql import GraphQL

LOGIN = """mutation($u: String!, $p: String!, $l: String!) {
  login(input: {username: $u, password: $p, library: $l}) {
    token expiresAt errors { code message field }
    viewer { systemGroups library { code } institution { code } patron { username } }
  }
}"""

VIEWER = "{ viewer { systemGroups library { code } institution { code } patron { username } } }"


async def test_librarian_logs_in_at_assigned_library(gql: GraphQL) -> None:
    data = await gql.ok(LOGIN, {"u": "lansing.librarian", "p": "netzone-demo", "l": "LANSING"})
    login = data["login"]
    assert login["errors"] == []
    assert login["token"].startswith("nzs_")
    assert login["viewer"] == {
        "systemGroups": ["LIBRARIAN", "LIBRARY_USERS"],
        "library": {"code": "LANSING"},
        "institution": {"code": "NEKLS"},
        "patron": {"username": "lansing.librarian"},
    }
    viewer = await gql.ok(VIEWER, token=login["token"])
    assert viewer["viewer"]["library"] == {"code": "LANSING"}


async def test_username_is_case_insensitive(gql: GraphQL) -> None:
    data = await gql.ok(LOGIN, {"u": "Lansing.Librarian", "p": "netzone-demo", "l": "lansing"})
    assert data["login"]["errors"] == []


async def test_librarian_cannot_log_in_at_unassigned_library(gql: GraphQL) -> None:
    data = await gql.ok(LOGIN, {"u": "lansing.librarian", "p": "netzone-demo", "l": "BASEHOR"})
    assert data["login"]["token"] is None
    assert data["login"]["errors"] == [
        {
            "code": "FORBIDDEN",
            "message": "This account may not log in at BASEHOR.",
            "field": ["input", "library"],
        }
    ]


async def test_admin_may_log_in_at_any_assigned_library(gql: GraphQL) -> None:
    token = await gql.login("nekls.admin", "BASEHOR")
    viewer = await gql.ok(VIEWER, token=token)
    assert viewer["viewer"]["library"] == {"code": "BASEHOR"}


async def test_library_of_another_institution_refuses_login(gql: GraphQL) -> None:
    # The library decides the institution: lansing.librarian does not exist at EASTERN.
    data = await gql.ok(LOGIN, {"u": "lansing.librarian", "p": "netzone-demo", "l": "EASTERN-MAIN"})
    assert data["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_wrong_password_and_unknown_user_look_the_same(gql: GraphQL) -> None:
    wrong = await gql.ok(LOGIN, {"u": "lansing.librarian", "p": "not-the-password", "l": "LANSING"})
    unknown = await gql.ok(LOGIN, {"u": "nobody.here", "p": "not-the-password", "l": "LANSING"})
    assert (
        wrong["login"]["errors"]
        == unknown["login"]["errors"]
        == [
            {
                "code": "INVALID_CREDENTIALS",
                "message": "The username or password is not correct.",
                "field": None,
            }
        ]
    )


async def test_unknown_library_names_the_field(gql: GraphQL) -> None:
    data = await gql.ok(LOGIN, {"u": "lansing.librarian", "p": "netzone-demo", "l": "NOWHERE"})
    assert data["login"]["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "There is no library with the code 'NOWHERE'.",
            "field": ["input", "library"],
        }
    ]


async def test_ten_failures_lock_the_account_even_for_the_right_password(gql: GraphQL) -> None:
    for _ in range(10):
        data = await gql.ok(
            LOGIN, {"u": "basehor.librarian", "p": "wrong-password", "l": "BASEHOR"}
        )
        assert data["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    data = await gql.ok(LOGIN, {"u": "basehor.librarian", "p": "netzone-demo", "l": "BASEHOR"})
    assert data["login"]["token"] is None
    assert data["login"]["errors"][0]["code"] == "ACCOUNT_LOCKED"


async def test_logout_revokes_the_token(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    data = await gql.ok("mutation { logout { errors { code } } }", token=token)
    assert data["logout"]["errors"] == []
    body = await gql('{ patrons(institution: "NEKLS") { totalCount } }', token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    anonymous = await gql.ok(VIEWER, token=token)
    assert anonymous["viewer"] == {
        "systemGroups": [],
        "library": None,
        "institution": None,
        "patron": None,
    }


async def test_anonymous_patron_query_is_unauthenticated(gql: GraphQL) -> None:
    body = await gql('{ patrons(institution: "NEKLS") { totalCount } }')
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
