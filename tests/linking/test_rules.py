"""Linked account rules: ordered, first match wins, the default rule last and immutable."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.graphql import error
from tests.support.linking import EVALUATE, Net, day, eastern_only, rule_input

# The seeded WESTERN rules, in order (the default rule is always last).
WESTERN_RULES = [
    "Eastern faculty",
    "Public library patrons",
    "Everyone but Eastern",
    "Default rule",
]
FORBIDDEN_RULES = "Only a system administrator of WESTERN may change its linked account rules."
NO_SUCH_RULE = error("NOT_FOUND", "There is no such rule.", "input", "id")


async def evaluate(
    net: Net, source: str, group: str | None, username: str = "western.admin"
) -> dict[str, Any]:
    data = await net.gql.ok(
        EVALUATE,
        {"institution": "WESTERN", "source": source, "group": group},
        await net.token(username),
    )
    result: dict[str, Any] = data["evaluateLinkedAccountRules"]
    return result


async def applied(net: Net, source: str, group: str | None) -> str:
    return str((await evaluate(net, source, group))["rule"]["name"])


def positions(rules: list[dict[str, Any]]) -> list[tuple[str, int, bool]]:
    return [(r["name"], r["position"], r["isDefault"]) for r in rules]


async def test_the_first_rule_whose_conditions_all_hold_applies(net: Net) -> None:
    # Given WESTERN's seeded rules
    assert await net.rule_names("western.admin", "WESTERN") == WESTERN_RULES
    # Then both conditions of "Eastern faculty" must hold
    assert await applied(net, "EASTERN", "FACULTY") == "Eastern faculty"
    assert await applied(net, "EASTERN", "UNDERGRAD") == "Default rule"
    assert await applied(net, "NORTHFIELD", "FACULTY") == "Everyone but Eastern"
    # And NEKLS matches two rules: the first one wins
    assert await applied(net, "NEKLS", "ADULT") == "Public library patrons"
    # And codes are compared case-insensitively; no source group is not "FACULTY"
    assert await applied(net, "eastern", "faculty") == "Eastern faculty"
    assert await applied(net, "EASTERN", None) == "Default rule"


async def test_linking_applies_the_first_matching_rule_and_records_it(net: Net) -> None:
    # Given an EASTERN faculty member and an EASTERN undergraduate
    faculty = await net.eastern_source(1, userGroup="FACULTY", expiryDate=day(321))
    student = await net.eastern_source(2)
    # When WESTERN links both
    faculty_copy = await net.find_and_link("western.librarian", "TEST-EU0001")
    student_copy = await net.find_and_link("western.librarian", "TEST-EU0002")
    # Then the faculty member got the "Eastern faculty" rule's group and dates
    assert faculty_copy["linkedFrom"]["rule"] == {"name": "Eastern faculty"}
    assert faculty_copy["userGroup"] == {"code": "FACULTY"}
    assert faculty_copy["expiryDate"] == faculty["expiryDate"] == day(321)
    # And the undergraduate fell through to the default rule
    default = (await net.rules("western.admin", "WESTERN"))[-1]
    assert student_copy["linkedFrom"]["rule"] == {"name": "Default rule"}
    assert student_copy["userGroup"] == default["userGroup"]
    assert student_copy["expiryDate"] is None
    assert student["userGroup"] == {"code": "UNDERGRAD"}


async def test_reordering_changes_which_rule_applies(net: Net) -> None:
    # Given NEKLS patrons get "Public library patrons" (before "Everyone but Eastern")
    rules = await net.rules("western.admin", "WESTERN")
    ids = {r["name"]: r["id"] for r in rules}
    # When "Everyone but Eastern" is moved to the top
    payload = await net.reorder_rules(
        "western.admin",
        "WESTERN",
        [ids["Everyone but Eastern"], ids["Eastern faculty"], ids["Public library patrons"]],
    )
    # Then the rules are renumbered, the default rule still last
    assert payload["errors"] == []
    assert positions(payload["rules"]) == [
        ("Everyone but Eastern", 0, False),
        ("Eastern faculty", 1, False),
        ("Public library patrons", 2, False),
        ("Default rule", 3, True),
    ]
    assert await net.rules("western.admin", "WESTERN") == payload["rules"]
    # And NEKLS patrons now get "Everyone but Eastern", also when linked
    assert await applied(net, "NEKLS", "ADULT") == "Everyone but Eastern"
    await net.create_source(
        "lansing.librarian",
        institution="NEKLS",
        homeLibrary="LANSING",
        userGroup="ADULT",
        surname="Reorder",
        identifiers=[{"type": "UNIV_ID", "value": "TEST-NU0001"}],
        expiryDate=day(90),
    )
    copy = await net.find_and_link("western.librarian", "TEST-NU0001")
    assert copy["linkedFrom"]["rule"] == {"name": "Everyone but Eastern"}
    assert (copy["userGroup"], copy["expiryDate"], copy["purgeDate"]) == (
        {"code": "WALKIN"},
        day(90),
        day(120),
    )


async def test_reorder_must_list_every_non_default_rule_once(net: Net) -> None:
    # Given WESTERN's rules
    rules = await net.rules("western.admin", "WESTERN")
    ids = [r["id"] for r in rules]
    eastern_default = (await net.rules("eastern.admin", "EASTERN"))[-1]["id"]
    invalid = error(
        "INVALID_INPUT", "List every rule except the default rule, each once.", "input", "ruleIds"
    )
    # When the list misses a rule, repeats one, or names another institution's rule
    for wrong in (ids[:2], [ids[0], ids[0], ids[1], ids[2]], [*ids[:2], eastern_default]):
        payload = await net.reorder_rules("western.admin", "WESTERN", wrong)
        # Then nothing is reordered
        assert payload == {"rules": None, "errors": [invalid]}
    # And the default rule cannot be moved
    payload = await net.reorder_rules("western.admin", "WESTERN", [ids[3], ids[0], ids[1], ids[2]])
    assert payload == {
        "rules": None,
        "errors": [
            error(
                "DEFAULT_RULE_IMMUTABLE",
                "The default rule always stays last.",
                "input",
                "ruleIds",
            )
        ],
    }
    assert await net.rules("western.admin", "WESTERN") == rules


async def test_create_at_a_position_or_just_before_the_default(net: Net) -> None:
    # When rules are created at the top, in the middle and without a position
    top = await net.create_rule(
        "western.admin",
        "WESTERN",
        "Top",
        position=0,
        conditions=eastern_only(),
        description="  Eastern first  ",
        userGroup="FACULTY",
        expiry={"mode": "ABSOLUTE", "date": day(100)},
        purge={"mode": "AFTER_EXPIRY", "offsetDays": 5},
        refreshExpiryDate=True,
        resourceSharingLibrary="WESTERN-MAIN",
        copyNetworkBlocks=True,
    )
    await net.create_rule("western.admin", "WESTERN", "Middle", position=2)
    await net.create_rule("western.admin", "WESTERN", "Bottom")
    # Then each is where it was asked to be, the default rule last
    rules = await net.rules("western.admin", "WESTERN")
    assert positions(rules) == [
        ("Top", 0, False),
        ("Eastern faculty", 1, False),
        ("Middle", 2, False),
        ("Public library patrons", 3, False),
        ("Everyone but Eastern", 4, False),
        ("Bottom", 5, False),
        ("Default rule", 6, True),
    ]
    # And the rule holds every output it was given
    assert rules[0] == top
    assert {k: v for k, v in top.items() if k != "id"} == {
        "name": "Top",
        "description": "Eastern first",
        "position": 0,
        "isDefault": False,
        "conditions": [
            {"parameter": "SOURCE_INSTITUTION", "operator": "EQUALS", "values": ["EASTERN"]}
        ],
        "userGroup": {"code": "FACULTY"},
        "expiry": {"mode": "ABSOLUTE", "date": day(100), "offsetDays": None},
        "purge": {"mode": "AFTER_EXPIRY", "date": None, "offsetDays": 5},
        "refreshExpiryDate": True,
        "refreshPurgeDate": False,
        "resourceSharingLibrary": {"code": "WESTERN-MAIN"},
        "copyNetworkBlocks": True,
    }
    # And it now applies to every EASTERN patron
    result = await evaluate(net, "EASTERN", "FACULTY")
    assert result == {
        "rule": {"name": "Top", "isDefault": False},
        "userGroup": {"code": "FACULTY"},
        "expiryDate": day(100),
        "purgeDate": day(105),
    }


async def test_invalid_rules_are_refused_and_nothing_changes(net: Net) -> None:
    # Given the rules as they are
    before = await net.rules_table()
    # When a rule is created with a position past the default, bad outputs and conditions
    payload = await net.create_rule_payload(
        "western.admin",
        institution="WESTERN",
        name=" ",
        position=4,
        conditions=[
            {"parameter": "SOURCE_INSTITUTION", "operator": "EQUALS", "values": ["NOWHERE"]},
            {"parameter": "SOURCE_USER_GROUP", "operator": "EQUALS", "values": ["A", "B"]},
            {"parameter": "SOURCE_USER_GROUP", "operator": "IN_LIST", "values": [" "]},
        ],
        userGroup="UNDERGRAD",
        expiry={"mode": "ABSOLUTE"},
        purge={"mode": "AFTER_EXPIRY", "offsetDays": -1},
        refreshExpiryDate=False,
        refreshPurgeDate=False,
        resourceSharingLibrary="EASTERN-MAIN",
        copyNetworkBlocks=False,
    )
    # Then every mistake is named and nothing is stored
    assert payload == {
        "rule": None,
        "errors": [
            error("INVALID_INPUT", "The position must be between 0 and 3.", "input", "position"),
            error(
                "MANDATORY_FIELD", "Give the rule a name (up to 200 characters).", "input", "name"
            ),
            error(
                "INVALID_INPUT",
                "There is no institution 'NOWHERE'.",
                "input",
                "conditions",
                "0",
                "values",
                "0",
            ),
            error(
                "INVALID_INPUT",
                "EQUALS compares with one value.",
                "input",
                "conditions",
                "1",
                "values",
            ),
            error(
                "MANDATORY_FIELD",
                "Give at least one value.",
                "input",
                "conditions",
                "2",
                "values",
            ),
            error(
                "INVALID_INPUT",
                "'UNDERGRAD' is not a user group of WESTERN.",
                "input",
                "userGroup",
            ),
            error("MANDATORY_FIELD", "An ABSOLUTE expiry needs a date.", "input", "expiry", "date"),
            error(
                "INVALID_INPUT",
                "offsetDays cannot be negative.",
                "input",
                "purge",
                "offsetDays",
            ),
            error(
                "INVALID_INPUT",
                "'EASTERN-MAIN' is not a library of WESTERN.",
                "input",
                "resourceSharingLibrary",
            ),
        ],
    }
    assert await net.rules_table() == before


async def test_a_purge_date_before_the_expiry_date_is_refused(net: Net) -> None:
    # Given the rules as they are
    before = await net.rules_table()
    # When a rule would purge accounts in 2026 that it makes valid until 2030
    early = await net.create_rule_payload(
        "western.admin",
        **rule_input(
            "WESTERN",
            "Early purge",
            expiry={"mode": "ABSOLUTE", "date": "2030-01-01"},
            purge={"mode": "ABSOLUTE", "date": "2026-12-01"},
        ),
    )
    # Or would purge on a date accounts that never expire
    never = await net.create_rule_payload(
        "western.admin",
        **rule_input("WESTERN", "No expiry", purge={"mode": "ABSOLUTE", "date": day(30)}),
    )
    # Then both are refused with the reason, and nothing is stored
    assert early == {
        "rule": None,
        "errors": [
            error(
                "INVALID_INPUT",
                "The purge date 2026-12-01 is before the expiry date 2030-01-01: accounts "
                "would be deleted while still valid. Purge on or after the expiry date, "
                "or use AFTER_EXPIRY.",
                "input",
                "purge",
                "date",
            )
        ],
    }
    assert never == {
        "rule": None,
        "errors": [
            error(
                "INVALID_INPUT",
                "Accounts linked under this rule never expire, so a purge date would delete "
                "valid accounts: set an expiry, or purge NONE.",
                "input",
                "purge",
                "date",
            )
        ],
    }
    assert await net.rules_table() == before
    # And a rule purging on the expiry date or later is accepted
    rule = await net.create_rule(
        "western.admin",
        "WESTERN",
        "Purge after",
        expiry={"mode": "ABSOLUTE", "date": day(100)},
        purge={"mode": "ABSOLUTE", "date": day(100)},
    )
    # But moving only its expiry past the purge date is refused, and the rule kept
    kept = await net.rules_table()
    moved = await net.update_rule_payload(
        "western.admin", id=rule["id"], expiry={"mode": "ABSOLUTE", "date": day(101)}
    )
    assert moved["rule"] is None
    assert moved["errors"] == [
        error(
            "INVALID_INPUT",
            f"The purge date {day(100)} is before the expiry date {day(101)}: accounts "
            "would be deleted while still valid. Purge on or after the expiry date, "
            "or use AFTER_EXPIRY.",
            "input",
            "expiry",
        )
    ]
    assert await net.rules_table() == kept


async def test_source_user_groups_must_exist_where_the_rule_can_match(net: Net) -> None:
    before = await net.rules_table()
    # When conditions name a misspelt group, and a group EASTERN does not have
    payload = await net.create_rule_payload(
        "western.admin",
        **rule_input(
            "WESTERN",
            "Typos",
            conditions=eastern_only(
                {
                    "parameter": "SOURCE_USER_GROUP",
                    "operator": "IN_LIST",
                    "values": ["FACULTY", "STUDNET", "ADULT"],
                }
            ),
        ),
    )
    # Then each unknown value is named, and nothing is stored
    assert payload == {
        "rule": None,
        "errors": [
            error(
                "INVALID_INPUT",
                f"There is no user group {code!r} at EASTERN.",
                "input",
                "conditions",
                "1",
                "values",
                position,
            )
            for code, position in (("STUDNET", "1"), ("ADULT", "2"))
        ],
    }
    # And without an institution condition, a group must exist at some member
    anywhere = await net.create_rule_payload(
        "western.admin",
        **rule_input(
            "WESTERN",
            "Anywhere",
            conditions=[
                {"parameter": "SOURCE_USER_GROUP", "operator": "EQUALS", "values": ["STUDNET"]}
            ],
        ),
    )
    assert anywhere["errors"] == [
        error(
            "INVALID_INPUT",
            "There is no user group 'STUDNET' at any member institution.",
            "input",
            "conditions",
            "0",
            "values",
            "0",
        )
    ]
    assert await net.rules_table() == before
    # While groups that exist there are accepted
    rule = await net.create_rule(
        "western.admin",
        "WESTERN",
        "Adults anywhere",
        conditions=[
            {"parameter": "SOURCE_USER_GROUP", "operator": "IN_LIST", "values": ["ADULT", "grad"]}
        ],
    )
    assert rule["conditions"] == [
        {"parameter": "SOURCE_USER_GROUP", "operator": "IN_LIST", "values": ["ADULT", "GRAD"]}
    ]


async def test_duplicate_is_placed_right_after_the_original(net: Net) -> None:
    # Given WESTERN's rules
    rules = await net.rules("western.admin", "WESTERN")
    original = rules[1]
    # When "Public library patrons" is duplicated
    payload = await net.duplicate_rule("western.admin", original["id"])
    # Then the copy is named "Copy of ...", sits right after it and has the same outputs
    assert payload["errors"] == []
    copy = payload["rule"]
    assert copy["id"] != original["id"]
    assert {k: v for k, v in copy.items() if k != "id"} == {
        **{k: v for k, v in original.items() if k != "id"},
        "name": "Copy of Public library patrons",
        "position": 2,
    }
    assert positions(await net.rules("western.admin", "WESTERN")) == [
        ("Eastern faculty", 0, False),
        ("Public library patrons", 1, False),
        ("Copy of Public library patrons", 2, False),
        ("Everyone but Eastern", 3, False),
        ("Default rule", 4, True),
    ]
    # And the original still wins for NEKLS until the copy is moved above it
    assert await applied(net, "NEKLS", "ADULT") == "Public library patrons"
    ids = [r["id"] for r in await net.rules("western.admin", "WESTERN")]
    reordered = await net.reorder_rules(
        "western.admin", "WESTERN", [ids[2], ids[0], ids[1], ids[3]]
    )
    assert reordered["errors"] == []
    assert await applied(net, "NEKLS", "ADULT") == "Copy of Public library patrons"
    # And the copy is a rule of its own: changing it leaves the original alone
    changed = await net.update_rule_payload(
        "western.admin", id=copy["id"], userGroup="WALKIN", name="Public, walk-in"
    )
    assert changed["errors"] == []
    after = {r["name"]: r for r in await net.rules("western.admin", "WESTERN")}
    assert after["Public library patrons"] == {**original, "position": 2}
    assert after["Public, walk-in"]["userGroup"] == {"code": "WALKIN"}


async def test_delete_renumbers_the_remaining_rules(net: Net) -> None:
    # Given WESTERN's rules
    rules = await net.rules("western.admin", "WESTERN")
    # When "Public library patrons" is deleted
    payload = await net.delete_rule("western.admin", rules[1]["id"])
    # Then the remaining rules are returned, renumbered
    assert payload["errors"] == []
    assert positions(payload["rules"]) == [
        ("Eastern faculty", 0, False),
        ("Everyone but Eastern", 1, False),
        ("Default rule", 2, True),
    ]
    assert await net.rules("western.admin", "WESTERN") == payload["rules"]
    # And NEKLS patrons now fall to the next matching rule
    assert await applied(net, "NEKLS", "ADULT") == "Everyone but Eastern"
    # And the deleted rule is gone
    assert await net.delete_rule("western.admin", rules[1]["id"]) == {
        "rules": None,
        "errors": [NO_SUCH_RULE],
    }


async def test_the_default_rule_can_be_edited_but_not_deleted_moved_or_conditioned(
    net: Net,
) -> None:
    # Given WESTERN's default rule
    rules = await net.rules("western.admin", "WESTERN")
    default = rules[-1]
    assert (default["name"], default["isDefault"], default["conditions"]) == (
        "Default rule",
        True,
        [],
    )
    # When its outputs are edited
    payload = await net.update_rule_payload(
        "western.admin",
        id=default["id"],
        name="Walk-ins",
        userGroup="WALKIN",
        expiry={"mode": "ABSOLUTE", "date": day(30)},
        purge={"mode": "AFTER_EXPIRY", "offsetDays": 10},
        conditions=[],
    )
    # Then the default rule changes and still applies when nothing else does
    assert payload["errors"] == []
    edited = payload["rule"]
    assert (edited["name"], edited["isDefault"], edited["position"]) == ("Walk-ins", True, 3)
    assert await evaluate(net, "EASTERN", "UNDERGRAD") == {
        "rule": {"name": "Walk-ins", "isDefault": True},
        "userGroup": {"code": "WALKIN"},
        "expiryDate": day(30),
        "purgeDate": day(40),
    }
    before = await net.rules_table()
    immutable = "DEFAULT_RULE_IMMUTABLE"
    # When someone gives it conditions, deletes it, duplicates it or moves it
    conditioned = await net.update_rule_payload(
        "western.admin", id=default["id"], conditions=eastern_only(), name="Sneaky"
    )
    deleted = await net.delete_rule("western.admin", default["id"])
    duplicated = await net.duplicate_rule("western.admin", default["id"])
    ids = [r["id"] for r in rules]
    moved = await net.reorder_rules("western.admin", "WESTERN", [ids[0], ids[3], ids[1], ids[2]])
    # Then each is refused with DEFAULT_RULE_IMMUTABLE and nothing changes
    assert conditioned == {
        "rule": None,
        "errors": [error(immutable, "The default rule has no conditions.", "input", "conditions")],
    }
    assert deleted == {
        "rules": None,
        "errors": [error(immutable, "The default rule cannot be deleted.", "input", "id")],
    }
    assert duplicated == {
        "rule": None,
        "errors": [error(immutable, "The default rule cannot be duplicated.", "input", "id")],
    }
    assert moved["errors"][0]["code"] == immutable
    assert await net.rules_table() == before


async def test_evaluate_explains_the_rule_and_the_dates(net: Net) -> None:
    # Given a first rule for EASTERN with dates relative to the source's expiry
    await net.first_rule(
        "western.admin",
        "WESTERN",
        "Relative",
        conditions=eastern_only(
            {"parameter": "SOURCE_USER_GROUP", "operator": "NOT_IN_LIST", "values": ["FACULTY"]}
        ),
        userGroup="WALKIN",
        expiry={"mode": "RELATIVE_TO_SOURCE", "offsetDays": -10},
        purge={"mode": "AFTER_EXPIRY", "offsetDays": 20},
    )
    query = """query($s: Date) {
      evaluateLinkedAccountRules(institution: "WESTERN", sourceInstitution: "EASTERN",
                                 sourceUserGroup: "GRAD", sourceExpiryDate: $s) {
        rule { name } userGroup { code } expiryDate purgeDate
      }
    }"""
    token = await net.token("western.admin")
    # When an admin asks what a GRAD expiring in 100 days would get
    data = await net.gql.ok(query, {"s": day(100)}, token)
    # Then the rule, the group and both dates are explained
    assert data["evaluateLinkedAccountRules"] == {
        "rule": {"name": "Relative"},
        "userGroup": {"code": "WALKIN"},
        "expiryDate": day(90),
        "purgeDate": day(110),
    }
    # And without a source expiry there is no date to derive
    data = await net.gql.ok(query, {"s": None}, token)
    assert data["evaluateLinkedAccountRules"]["expiryDate"] is None
    assert data["evaluateLinkedAccountRules"]["purgeDate"] is None
    # And FACULTY does not match NOT_IN_LIST, so the next rule applies
    assert await applied(net, "EASTERN", "FACULTY") == "Eastern faculty"
    # And an unknown source institution is named
    body = await net.gql(
        EVALUATE, {"institution": "WESTERN", "source": "NOWHERE", "group": None}, token
    )
    assert body["data"] is None
    assert body["errors"][0]["message"] == "There is no institution 'NOWHERE'."
    assert body["errors"][0]["extensions"] == {"code": "INVALID_INPUT"}


@pytest.mark.parametrize(
    "username",
    ["western.librarian", "eastern.admin", "northfield.admin", "lansing.librarian"],
)
async def test_only_the_institutions_system_admin_manages_its_rules(
    net: Net, username: str
) -> None:
    # Given WESTERN's rules and someone who is not a SYSTEM_ADMIN of WESTERN
    rules = await net.rules("western.admin", "WESTERN")
    ids = [r["id"] for r in rules]
    before = await net.rules_table()
    # Then the rules are not shown to them
    assert await net.rules(username, "WESTERN") == []
    # And creating or reordering is forbidden; the rules "do not exist" for the rest
    forbidden = {"code": "FORBIDDEN", "message": FORBIDDEN_RULES, "field": None}
    created = await net.create_rule_payload(
        username, **{"institution": "WESTERN", "name": "Mine"} | _outputs()
    )
    assert created == {"rule": None, "errors": [forbidden]}
    reordered = await net.reorder_rules(username, "WESTERN", [ids[2], ids[1], ids[0]])
    assert reordered == {"rules": None, "errors": [forbidden]}
    updated = await net.update_rule_payload(username, id=ids[0], name="Mine")
    assert updated == {"rule": None, "errors": [NO_SUCH_RULE]}
    assert await net.duplicate_rule(username, ids[0]) == {"rule": None, "errors": [NO_SUCH_RULE]}
    assert await net.delete_rule(username, ids[0]) == {"rules": None, "errors": [NO_SUCH_RULE]}
    # And they cannot ask for an explanation either
    body = await net.gql(
        EVALUATE,
        {"institution": "WESTERN", "source": "EASTERN", "group": "FACULTY"},
        await net.token(username),
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    # And nothing changed
    assert await net.rules_table() == before
    assert (
        await net.audit(
            "create_linked_account_rule",
            "update_linked_account_rule",
            "duplicate_linked_account_rule",
            "delete_linked_account_rule",
            "reorder_linked_account_rules",
        )
        == []
    )


async def test_rule_changes_are_audited(net: Net) -> None:
    rules = await net.rules("western.admin", "WESTERN")
    created = await net.create_rule("western.admin", "WESTERN", "Audited")
    await net.update_rule_payload("western.admin", id=created["id"], name="Audited again")
    await net.duplicate_rule("western.admin", created["id"])
    await net.delete_rule("western.admin", created["id"])
    ids = [r["id"] for r in await net.rules("western.admin", "WESTERN")][:-1]
    await net.reorder_rules("western.admin", "WESTERN", list(reversed(ids)))
    western = await net.institution_id("WESTERN")
    entries = await net.audit(
        "create_linked_account_rule",
        "update_linked_account_rule",
        "duplicate_linked_account_rule",
        "delete_linked_account_rule",
        "reorder_linked_account_rules",
    )
    assert [(e["action"], e["actor_name"], e["institution_id"]) for e in entries] == [
        ("create_linked_account_rule", "western.admin", western),
        ("update_linked_account_rule", "western.admin", western),
        ("duplicate_linked_account_rule", "western.admin", western),
        ("delete_linked_account_rule", "western.admin", western),
        ("reorder_linked_account_rules", "western.admin", western),
    ]
    assert len(rules) == 4


def _outputs() -> dict[str, Any]:
    return {
        "conditions": [],
        "userGroup": "WALKIN",
        "expiry": {"mode": "NONE"},
        "purge": {"mode": "NONE"},
        "refreshExpiryDate": False,
        "refreshPurgeDate": False,
        "copyNetworkBlocks": False,
    }


async def test_deleting_a_rule_in_use_leaves_its_linked_accounts_be(net: Net) -> None:
    # Given a WESTERN copy made under a first rule for EASTERN
    rule = await net.first_rule(
        "western.admin",
        "WESTERN",
        "Short-lived",
        conditions=eastern_only(),
        userGroup="COMMUNITY",
        expiry={"mode": "ABSOLUTE", "date": day(30)},
    )
    await net.eastern_source(3)
    copy = await net.find_and_link("western.librarian", "TEST-EU0003")
    assert copy["linkedFrom"]["rule"] == {"name": "Short-lived"}
    # When the rule is deleted
    assert (await net.delete_rule("western.admin", rule["id"]))["errors"] == []
    # Then the copy no longer names a rule, and keeps its group and dates
    read = await net.read("western.librarian", copy["id"])
    assert read is not None
    assert read["linkedFrom"]["rule"] is None
    assert (read["userGroup"], read["expiryDate"]) == ({"code": "COMMUNITY"}, day(30))
    # And its next refresh records the rule that applies now, without re-applying it
    refreshed = await net.refresh("western.librarian", copy["id"])
    assert refreshed["linkedFrom"]["rule"] == {"name": "Default rule"}
    assert (refreshed["userGroup"], refreshed["expiryDate"]) == ({"code": "COMMUNITY"}, day(30))
