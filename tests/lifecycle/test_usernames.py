"""Bulk change of usernames: by a rule over the institution or as listed; all or nothing."""

from __future__ import annotations

from typing import Any

from tests.support.database import DEMO_PATRONS_PER_INSTITUTION
from tests.support.graphql import GraphQL
from tests.support.ids import patron_pk
from tests.support.lifecycle import PASSWORD, LifecycleApi, patron_id

# Accounts a LIBRARIAN may not give a new login: they hold LIBRARIAN, SYSTEM_ADMIN or
# NETWORK_ADMIN (the librarian's own account aside).
PROTECTED_LOGINS = {"basehor.librarian", "nekls.admin", "network.admin"}


def rule_field(patron: str) -> list[str]:
    return ["input", "rule", patron]


async def snapshot(api: LifecycleApi, token: str) -> dict[str, tuple[str | None, int]]:
    """Every NEKLS patron's username and version, by id."""
    return {p["id"]: (p["username"], p["version"]) for p in await api.all_patrons(token)}


async def in_rule_scope(api: LifecycleApi, token: str) -> list[dict[str, Any]]:
    """NEKLS HOME patrons a LIBRARIAN's rule covers (lansing.librarian's own account included)."""
    return [
        p
        for p in await api.all_patrons(token)
        if p["accountType"] == "HOME"
        and not p["isGeneric"]
        and p["username"] not in PROTECTED_LOGINS
    ]


async def test_rule_from_primary_email_dry_run_lists_every_change_and_conflict(
    api: LifecycleApi, lansing: str
) -> None:
    # given: one patron already logs in with its email, another's email is that name in
    # other capitals, two share an email, one has none
    holder = await api.create(
        lansing, surname="Holder", username="shared@example.org", primaryEmail="shared@example.org"
    )
    clash = await api.create(lansing, surname="Clash", primaryEmail="SHARED@example.org")
    twin_a = await api.create(lansing, surname="Twin", givenName="Ann", primaryEmail="twin@x.org")
    twin_b = await api.create(lansing, surname="Twin", givenName="Bob", primaryEmail="twin@x.org")
    missing = await api.create(lansing, surname="Nomail", givenName="Nina")
    before = await snapshot(api, lansing)

    # when
    payload = await api.change_usernames(lansing, rule="FROM_PRIMARY_EMAIL", dryRun=True)

    # then: every conflict, each naming the patron at the end of its path
    assert sorted(payload["errors"], key=lambda e: (e["field"], e["message"])) == sorted(
        [
            {
                "code": "DUPLICATE_USERNAME",
                "message": f"Clash (patron {patron_pk(clash['id'])}): 'SHARED@example.org' "
                "is already the username of another patron in NEKLS.",
                "field": rule_field(clash["id"]),
            },
            {
                "code": "DUPLICATE_USERNAME",
                "message": f"Ann Twin (patron {patron_pk(twin_a['id'])}): 'twin@x.org' would also be the "
                "new username of 1 other patron.",
                "field": rule_field(twin_a["id"]),
            },
            {
                "code": "DUPLICATE_USERNAME",
                "message": f"Bob Twin (patron {patron_pk(twin_b['id'])}): 'twin@x.org' would also be the "
                "new username of 1 other patron.",
                "field": rule_field(twin_b["id"]),
            },
            {
                "code": "MANDATORY_FIELD",
                "message": f"Nina Nomail (patron {patron_pk(missing['id'])}) has no primary email.",
                "field": rule_field(missing["id"]),
            },
        ],
        key=lambda e: (e["field"], e["message"]),
    )
    # every change: the whole scope except the one already right and the one without email
    scope = await in_rule_scope(api, lansing)
    expected = {
        p["id"]: (p["username"], p["primaryEmail"])
        for p in scope
        if p["id"] not in (holder["id"], missing["id"])
    }
    assert len(expected) == DEMO_PATRONS_PER_INSTITUTION + 4  # + lansing.librarian, 3 created
    assert {
        c["patron"]["id"]: (c["oldUsername"], c["newUsername"]) for c in payload["changes"]
    } == expected
    assert len(payload["changes"]) == len(expected)
    # and nothing changed
    assert await snapshot(api, lansing) == before


async def test_applying_a_rule_with_conflicts_changes_nothing(
    api: LifecycleApi, lansing: str
) -> None:
    # given
    await api.create(lansing, surname="Twin", givenName="Ann", primaryEmail="twin@x.org")
    await api.create(lansing, surname="Twin", givenName="Bob", primaryEmail="twin@x.org")
    before = await snapshot(api, lansing)
    dry = await api.change_usernames(lansing, rule="FROM_PRIMARY_EMAIL", dryRun=True)

    # when
    payload = await api.change_usernames(lansing, rule="FROM_PRIMARY_EMAIL", dryRun=False)

    # then
    assert payload["changes"] == []
    assert payload["errors"] == dry["errors"]
    assert [e["code"] for e in payload["errors"]] == ["DUPLICATE_USERNAME"] * 2
    assert await snapshot(api, lansing) == before


async def test_applying_a_rule_switches_every_username_to_the_email(
    api: LifecycleApi, gql: GraphQL, lansing: str
) -> None:
    # given: the demo's emails are all different
    scope = await in_rule_scope(api, lansing)
    before = await snapshot(api, lansing)
    sample = next(p for p in scope if p["username"] is None)

    # when
    payload = await api.change_usernames(lansing, rule="FROM_PRIMARY_EMAIL", dryRun=False)

    # then: every patron in scope logs in with its email now, one version later
    assert payload["errors"] == []
    assert len(payload["changes"]) == len(scope) == DEMO_PATRONS_PER_INSTITUTION + 1
    after = await snapshot(api, lansing)
    for patron in scope:
        assert after[patron["id"]] == (patron["primaryEmail"], patron["version"] + 1)
    # accounts out of scope keep their login
    for pid, (username, version) in before.items():
        if username in PROTECTED_LOGINS:
            assert after[pid] == (username, version)
    # audited per patron
    entries = await api.audit(lansing, sample["id"])
    assert entries[0] == {
        "actor": "lansing.librarian",
        "action": "change_usernames",
        "changes": {"username": {"before": None, "after": sample["primaryEmail"]}},
    }
    # the librarian logs in with the new name; the old one is gone
    await gql.login("lansing.librarian@staff.example.org", "LANSING")
    data = await gql.ok(
        """mutation { login(input: {username: "lansing.librarian", password: "netzone-demo",
                                    library: "LANSING"}) { token errors { code } } }"""
    )
    assert data["login"] == {"token": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}
    # and a second run has nothing left to do
    again = await api.change_usernames(lansing, rule="FROM_PRIMARY_EMAIL", dryRun=False)
    assert again == {"changes": [], "errors": []}


async def test_a_rule_may_hand_a_username_from_one_patron_to_another(
    api: LifecycleApi, lansing: str
) -> None:
    # given: each patron's email is the other's username
    ann = await api.create(
        lansing, surname="Ann", username="bob@x.org", primaryEmail="ann@x.org", password=PASSWORD
    )
    bob = await api.create(lansing, surname="Bob", username="ann@x.org", primaryEmail="bob@x.org")

    # when
    payload = await api.change_usernames(lansing, rule="FROM_PRIMARY_EMAIL", dryRun=False)

    # then
    assert payload["errors"] == []
    changes = {c["patron"]["id"]: (c["oldUsername"], c["newUsername"]) for c in payload["changes"]}
    assert changes[ann["id"]] == ("bob@x.org", "ann@x.org")
    assert changes[bob["id"]] == ("ann@x.org", "bob@x.org")
    assert (await api.read(lansing, ann["id"]))["username"] == "ann@x.org"  # type: ignore[index]
    assert (await api.read(lansing, bob["id"]))["username"] == "bob@x.org"  # type: ignore[index]


async def test_rule_from_barcode_reports_patrons_without_one(
    api: LifecycleApi, lansing: str
) -> None:
    # given: the staff logins have no barcode; a new patron's barcode contains a space
    viewer = await api.viewer_id(lansing)
    spaced = await api.create(lansing, surname="Spaced", barcode="21 99")
    before = await snapshot(api, lansing)

    # when
    payload = await api.change_usernames(lansing, rule="FROM_BARCODE", dryRun=True)

    # then
    assert payload["errors"] == [
        {
            "code": "MANDATORY_FIELD",
            "message": f"Laura Lansing (patron {patron_pk(viewer)}) has no barcode.",
            "field": rule_field(viewer),
        },
        {
            "code": "INVALID_INPUT",
            "message": f"Spaced (patron {patron_pk(spaced['id'])}): the barcode '21 99' cannot be a "
            "username: it contains spaces.",
            "field": rule_field(spaced["id"]),
        },
    ]
    assert len(payload["changes"]) == DEMO_PATRONS_PER_INSTITUTION
    assert all(c["newUsername"].startswith("2100") for c in payload["changes"])
    assert await snapshot(api, lansing) == before


async def test_explicit_changes_are_checked_one_by_one(
    api: LifecycleApi, lansing: str, western: str
) -> None:
    # given
    holder = await api.create(lansing, surname="Holder", username="taken")
    ann = await api.create(lansing, surname="Ann")
    bob = await api.create(lansing, surname="Bob")
    cid = await api.create(lansing, surname="Cid")
    dot = await api.create(lansing, surname="Dot")
    librarian = next(
        p for p in await api.all_patrons(lansing) if p["username"] == "basehor.librarian"
    )
    foreign = (await api.all_patrons(western, "WESTERN"))[0]
    before = await snapshot(api, lansing)

    # when
    payload = await api.change_usernames(
        lansing,
        dryRun=True,
        changes=[
            {"patronId": ann["id"], "newUsername": "TAKEN"},
            {"patronId": bob["id"], "newUsername": "same"},
            {"patronId": cid["id"], "newUsername": "Same"},
            {"patronId": dot["id"], "newUsername": "with space"},
            {"patronId": ann["id"], "newUsername": "again"},
            {"patronId": librarian["id"], "newUsername": "ben"},
            {"patronId": foreign["id"], "newUsername": "foreign"},
            {"patronId": patron_id(999999), "newUsername": "nobody"},
            {"patronId": "not-an-id", "newUsername": "nobody2"},
            {"patronId": holder["id"], "newUsername": "  "},
        ],
    )

    # then
    assert payload["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "'with space' cannot be a username: it contains spaces.",
            "field": ["input", "changes", "3", "newUsername"],
        },
        {
            "code": "INVALID_INPUT",
            "message": "This patron is listed more than once.",
            "field": ["input", "changes", "4", "patronId"],
        },
        {
            "code": "FORBIDDEN",
            "message": "Only someone who may grant LIBRARIAN and its login library (BASEHOR) can "
            "change this account's username.",
            "field": ["input", "changes", "5", "newUsername"],
        },
        *(
            {
                "code": "NOT_FOUND",
                "message": "There is no such patron in NEKLS.",
                "field": ["input", "changes", str(index), "patronId"],
            }
            for index in (6, 7, 8)
        ),
        {
            "code": "MANDATORY_FIELD",
            "message": "Give the new username.",
            "field": ["input", "changes", "9", "newUsername"],
        },
        {
            "code": "DUPLICATE_USERNAME",
            "message": "Change 1: 'TAKEN' is already the username of another patron in NEKLS.",
            "field": ["input", "changes", "0", "newUsername"],
        },
        {
            "code": "DUPLICATE_USERNAME",
            "message": "Change 2: 'same' would also be the new username of 1 other patron.",
            "field": ["input", "changes", "1", "newUsername"],
        },
        {
            "code": "DUPLICATE_USERNAME",
            "message": "Change 3: 'Same' would also be the new username of 1 other patron.",
            "field": ["input", "changes", "2", "newUsername"],
        },
    ]
    assert [
        (c["patron"]["id"], c["oldUsername"], c["newUsername"]) for c in payload["changes"]
    ] == [
        (ann["id"], None, "TAKEN"),
        (bob["id"], None, "same"),
        (cid["id"], None, "Same"),
    ]
    # and the same list applied changes nothing either
    applied = await api.change_usernames(
        lansing,
        dryRun=False,
        changes=[
            {"patronId": ann["id"], "newUsername": "new-ann"},
            {"patronId": bob["id"], "newUsername": "taken"},
        ],
    )
    assert applied["changes"] == []
    assert [e["field"] for e in applied["errors"]] == [["input", "changes", "1", "newUsername"]]
    assert await snapshot(api, lansing) == before


async def test_explicit_changes_apply_together(api: LifecycleApi, lansing: str) -> None:
    # given
    ann = await api.create(lansing, surname="Ann", username="ann", password=PASSWORD)
    bob = await api.create(lansing, surname="Bob")

    # when: Ann's old name goes to Bob in the same batch, and an unchanged name is skipped
    payload = await api.change_usernames(
        lansing,
        dryRun=False,
        changes=[
            {"patronId": bob["id"], "newUsername": "ann"},
            {"patronId": ann["id"], "newUsername": "ann.smith"},
        ],
    )

    # then
    assert payload == {
        "changes": [
            {"patron": {"id": bob["id"]}, "oldUsername": None, "newUsername": "ann"},
            {"patron": {"id": ann["id"]}, "oldUsername": "ann", "newUsername": "ann.smith"},
        ],
        "errors": [],
    }
    now_ann = await api.read(lansing, ann["id"])
    now_bob = await api.read(lansing, bob["id"])
    assert now_ann is not None
    assert now_bob is not None
    assert (now_ann["username"], now_ann["version"]) == ("ann.smith", ann["version"] + 1)
    assert (now_bob["username"], now_bob["version"]) == ("ann", bob["version"] + 1)
    assert (await api.audit(lansing, ann["id"]))[0]["changes"] == {
        "username": {"before": "ann", "after": "ann.smith"}
    }
    # nothing to do is no change at all
    again = await api.change_usernames(
        lansing, dryRun=False, changes=[{"patronId": ann["id"], "newUsername": "ann.smith"}]
    )
    assert again == {"changes": [], "errors": []}


async def test_only_librarians_of_the_institution_change_usernames(
    api: LifecycleApi, lansing: str, western: str, eastern_circ: str
) -> None:
    # given
    before = await snapshot(api, lansing)
    forbidden = {
        "code": "FORBIDDEN",
        "message": "Only librarians of NEKLS may change its patrons' usernames.",
        "field": None,
    }

    # when / then: another institution's librarian, and circulation staff
    for token, institution in ((western, "NEKLS"), (eastern_circ, "EASTERN")):
        for dry_run in (True, False):
            payload = await api.change_usernames(
                token, institution=institution, rule="FROM_PRIMARY_EMAIL", dryRun=dry_run
            )
            assert payload["changes"] == []
            assert payload["errors"] == [
                {**forbidden, "message": forbidden["message"].replace("NEKLS", institution)}
            ]
    assert await snapshot(api, lansing) == before


async def test_a_rule_or_a_list_but_not_both(api: LifecycleApi, lansing: str) -> None:
    ann = await api.create(lansing, surname="Ann")
    error = {
        "code": "INVALID_INPUT",
        "message": "Give either a rule or a list of changes (one of the two).",
        "field": ["input", "rule"],
    }
    neither = await api.change_usernames(lansing, dryRun=True)
    both = await api.change_usernames(
        lansing,
        dryRun=False,
        rule="FROM_BARCODE",
        changes=[{"patronId": ann["id"], "newUsername": "ann"}],
    )
    assert neither == both == {"changes": [], "errors": [error]}
    unknown = await api.change_usernames(
        lansing, institution="NOWHERE", rule="FROM_BARCODE", dryRun=True
    )
    assert unknown["errors"] == [
        {
            "code": "NOT_FOUND",
            "message": "There is no institution with the code 'NOWHERE'.",
            "field": ["input", "institution"],
        }
    ]
    assert (await api.read(lansing, ann["id"]))["username"] is None  # type: ignore[index]


async def test_rule_from_admin_system_id_at_a_school(api: LifecycleApi, gql: GraphQL) -> None:
    # given: every generated NORTHFIELD pupil has an admin system id, the admin has none
    admin = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    viewer = await api.viewer_id(admin)
    before = await snapshot_of(api, admin, "NORTHFIELD")

    # when
    payload = await api.change_usernames(
        admin, institution="NORTHFIELD", rule="FROM_ADMIN_SYSTEM_ID", dryRun=True
    )

    # then
    assert payload["errors"] == [
        {
            "code": "MANDATORY_FIELD",
            "message": f"Nora Fields (patron {patron_pk(viewer)}) has no admin system id.",
            "field": rule_field(viewer),
        }
    ]
    assert len(payload["changes"]) == DEMO_PATRONS_PER_INSTITUTION
    assert all(c["newUsername"].startswith("NO1") for c in payload["changes"])
    assert await snapshot_of(api, admin, "NORTHFIELD") == before


async def snapshot_of(
    api: LifecycleApi, token: str, institution: str
) -> dict[str, tuple[str | None, int]]:
    return {
        p["id"]: (p["username"], p["version"]) for p in await api.all_patrons(token, institution)
    }
