"""An import without a home library gives new patrons the importing session's library."""

from __future__ import annotations

from tests.support.graphql import GraphQL
from tests.support.imports import Importer, counts, find_patron, student, to_csv


async def test_rows_without_a_home_library_get_the_sessions_library(
    importer: Importer, gql: GraphQL, northfield: str
) -> None:
    # Given a file without the home_library column, and one with an empty cell
    without = [student(1), student(2)]
    for row in without:
        del row["home_library"]
    empty = [student(3, home_library="")]
    # When the NORTHFIELD admin (at NORTHFIELD-MAIN) imports them
    first = await importer.job(northfield, to_csv(list(without[0]), without))
    second = await importer.job(northfield, to_csv(list(empty[0]), empty))
    # Then every new patron's home library is the session's
    assert counts(first)[3] == 2, first
    assert counts(second)[3] == 1, second
    for admin_system_id in ("T00001", "T00002", "T00003"):
        patron = await find_patron(gql, northfield, admin_system_id)
        assert patron is not None
        assert patron["homeLibrary"] == {"code": "NORTHFIELD-MAIN"}
