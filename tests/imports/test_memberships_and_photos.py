"""Library group memberships (CSV) and patron photos (zip), all or nothing."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx
import orjson
import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from tests.support.graphql import GraphQL

MEMBERSHIPS = """mutation($input: ImportLibraryGroupMembershipsInput!) {
  importLibraryGroupMemberships(input: $input) {
    added unchanged written problems { where code message } errors { code message field }
  }
}"""
PHOTOS = """mutation($input: ImportPatronPhotosInput!) {
  importPatronPhotos(input: $input) {
    added unchanged written problems { where code message } errors { code message field }
  }
}"""
FIND = """query($q: String!) { patrons(institution: "NORTHFIELD", filter: {search: $q}) {
  edges { node { id adminSystemId libraryGroups { name } photo { contentType width height } version } } } }"""


async def upload(
    client: httpx.AsyncClient,
    token: str,
    query: str,
    content: bytes,
    name: str,
    *,
    dry_run: bool = False,
) -> dict[str, Any]:
    operations = {
        "query": query,
        "variables": {"input": {"institution": "NORTHFIELD", "file": None, "dryRun": dry_run}},
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.input.file"]}).decode(),
        },
        files={"0": (name, content, "application/octet-stream")},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = next(iter(body["data"].values()))
    return data


async def patron(gql: GraphQL, token: str, admin_id: str) -> dict[str, Any]:
    edges = (await gql.ok(FIND, {"q": admin_id}, token=token))["patrons"]["edges"]
    assert len(edges) == 1
    node: dict[str, Any] = edges[0]["node"]
    return node


def png(size: tuple[int, int] = (30, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def archive(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


async def test_memberships_are_added_once(client: httpx.AsyncClient, gql: GraphQL) -> None:
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    csv = b"group,admin_system_id\nTeachers,NO100000\nteachers,NO100001\n"
    first = await upload(client, token, MEMBERSHIPS, csv, "groups.csv")
    assert first == {"added": 2, "unchanged": 0, "written": True, "problems": [], "errors": []}
    assert (await patron(gql, token, "NO100000"))["libraryGroups"] == [{"name": "Teachers"}]
    again = await upload(client, token, MEMBERSHIPS, csv, "groups.csv")
    assert (again["added"], again["unchanged"], again["written"]) == (0, 2, True)


async def test_memberships_with_problems_write_nothing(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    before = await patron(gql, token, "NO100002")
    csv = b"group,admin_system_id\nTeachers,NO100002\nCoaches,NO100003\nTeachers,NOBODY\n"
    payload = await upload(client, token, MEMBERSHIPS, csv, "groups.csv")
    assert payload["written"] is False
    assert [(p["where"], p["code"]) for p in payload["problems"]] == [
        ("line 3, column group", "INVALID_INPUT"),
        ("line 4, column admin_system_id", "NOT_FOUND"),
    ]
    assert await patron(gql, token, "NO100002") == before


async def test_photos_from_a_zip(client: httpx.AsyncClient, gql: GraphQL) -> None:
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    bad = archive({"NO100004.png": png(), "NO100005.jpg": b"not an image", "notes.txt": b"x"})
    refused = await upload(client, token, PHOTOS, bad, "photos.zip")
    assert refused["written"] is False
    assert [(p["where"], p["code"]) for p in refused["problems"]] == [
        ("NO100005.jpg", "INVALID_INPUT"),
        ("notes.txt", "INVALID_INPUT"),
    ]
    assert (await patron(gql, token, "NO100004"))["photo"] is None
    dry = await upload(
        client, token, PHOTOS, archive({"NO100004.png": png()}), "p.zip", dry_run=True
    )
    assert (dry["added"], dry["written"]) == (1, False)
    assert (await patron(gql, token, "NO100004"))["photo"] is None
    good = await upload(client, token, PHOTOS, archive({"NO100004.png": png((30, 40))}), "p.zip")
    assert (good["added"], good["written"]) == (1, True)
    assert (await patron(gql, token, "NO100004"))["photo"] == {
        "contentType": "image/jpeg",
        "width": 30,
        "height": 40,
    }


async def test_not_a_zip_and_not_allowed(client: httpx.AsyncClient, gql: GraphQL) -> None:
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    payload = await upload(client, token, PHOTOS, b"plain text", "photos.zip")
    assert payload["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "The file is not a zip archive.",
            "field": ["input", "file"],
        }
    ]
    other = await gql.login("eastern.admin", "EASTERN-MAIN")
    before = await patron(gql, token, "NO100006")
    denied = await upload(
        client, other, MEMBERSHIPS, b"group,admin_system_id\nTeachers,NO100006\n", "g.csv"
    )
    assert denied["errors"][0]["code"] == "FORBIDDEN"
    assert await patron(gql, token, "NO100006") == before


async def test_an_archive_that_decodes_to_too_much_is_refused_whole(
    client: httpx.AsyncClient,
    gql: GraphQL,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    connection: AsyncConnection,
) -> None:
    # A budget of 5,000 decoded pixels per upload: five 40x30 photos need 6,000
    monkeypatch.setattr(settings, "photo_upload_max_pixels", 5000)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    photos = {f"NO10000{n}.png": png((40, 30)) for n in range(1, 6)}
    before = await _photo_rows(connection)
    for dry_run in (True, False):
        payload = await upload(client, token, PHOTOS, archive(photos), "many.zip", dry_run=dry_run)
        # Then the whole upload is refused with the reason, dry run included
        assert payload["errors"] == [
            {
                "code": "INVALID_INPUT",
                "message": "The photos of this archive decode to more than one upload may "
                "(5,000 pixels or 200 MB in all, reached at NO100005.png); nothing was "
                "stored. Send them in smaller archives.",
                "field": ["input", "file"],
            }
        ]
        # And nothing was written, not even the photos before the limit
        assert await _photo_rows(connection) == before
    # Within the budget, the same photos go in (four of them)
    few = dict(list(photos.items())[:4])
    accepted = await upload(client, token, PHOTOS, archive(few), "few.zip")
    assert (accepted["added"], accepted["written"]) == (4, True)


async def _photo_rows(connection: AsyncConnection) -> int:
    return int((await connection.execute(text("SELECT count(*) FROM patron_photo"))).scalar_one())
