"""Patron blocks and photos through the API (photos as real multipart uploads)."""

from __future__ import annotations

import base64
import io
import os
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL
from tests.support.ids import patron_pk
from tests.support.photos import image, set_photo, upload_photo

PATRON = """query($id: ID!) {
  node(id: $id) {
    ... on Patron {
      id version
      blocks { id type { code description network } note origin expiresAt }
      photo { contentType width height byteSize }
    }
  }
}"""

FIRST_PATRON = (
    "query($i: String!) { patrons(institution: $i, first: 1) { edges { node { id version } } } }"
)

ADD_BLOCK = """mutation($p: ID!, $t: String!, $note: String, $expires: DateTime) {
  addPatronBlock(input: {patronId: $p, blockType: $t, note: $note, expiresAt: $expires}) {
    patron { id version blocks { id type { code description network } note origin expiresAt } }
    errors { code message field }
  }
}"""

REMOVE_BLOCK = """mutation($id: ID!) {
  removePatronBlock(input: {id: $id}) {
    patron { id version blocks { id } }
    errors { code message field }
  }
}"""


REMOVE_PHOTO = """mutation($id: ID!) {
  removePatronPhoto(input: {patronId: $id}) {
    patron { id version photo { contentType } }
    errors { code message field }
  }
}"""


async def _first_patron(gql: GraphQL, token: str, institution: str) -> dict[str, Any]:
    data = await gql.ok(FIRST_PATRON, {"i": institution}, token=token)
    patron: dict[str, Any] = data["patrons"]["edges"][0]["node"]
    return patron


async def _read(gql: GraphQL, token: str, patron_id: str) -> dict[str, Any]:
    data = await gql.ok(PATRON, {"id": patron_id}, token=token)
    patron: dict[str, Any] = data["node"]
    assert patron is not None
    return patron


async def _stored_photo(connection: AsyncConnection, patron_id: str) -> tuple[str, bytes] | None:
    pk = patron_pk(patron_id)
    row = (
        await connection.execute(
            text("SELECT content_type, data FROM patron_photo WHERE patron_id = :p"), {"p": pk}
        )
    ).one_or_none()
    return (row[0], bytes(row[1])) if row is not None else None


async def _audit_actions(connection: AsyncConnection) -> list[str]:
    """Actions in the audit trail, logins left out."""
    rows = await connection.execute(
        text("SELECT action FROM audit_entry WHERE action <> 'login' ORDER BY id")
    )
    return [r[0] for r in rows]


def _decoded(data: bytes) -> tuple[str | None, tuple[int, int]]:
    with Image.open(io.BytesIO(data)) as picture:
        return picture.format, picture.size


# ---------------------------------------------------------------- blocks


async def test_librarian_adds_and_removes_a_block(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron = await _first_patron(gql, token, "NEKLS")
    version = patron["version"]

    data = await gql.ok(
        ADD_BLOCK, {"p": patron["id"], "t": "fines", "note": "  Owes $25  "}, token=token
    )
    payload = data["addPatronBlock"]
    assert payload["errors"] == []
    [block] = payload["patron"]["blocks"]
    assert payload["patron"]["version"] == version + 1
    assert {k: v for k, v in block.items() if k != "id"} == {
        "type": {"code": "FINES", "description": "Fines over the limit", "network": True},
        "note": "Owes $25",
        "origin": "LOCAL",
        "expiresAt": None,
    }
    read = await _read(gql, token, patron["id"])
    assert read["version"] == version + 1
    assert read["blocks"] == payload["patron"]["blocks"]

    data = await gql.ok(REMOVE_BLOCK, {"id": block["id"]}, token=token)
    assert data["removePatronBlock"] == {
        "patron": {"id": patron["id"], "version": version + 2, "blocks": []},
        "errors": [],
    }
    read = await _read(gql, token, patron["id"])
    assert (read["version"], read["blocks"]) == (version + 2, [])
    assert (await _audit_actions(connection))[-2:] == ["add_block", "remove_block"]


async def test_blocks_are_listed_oldest_first_with_expiry(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron = await _first_patron(gql, token, "NEKLS")
    await gql.ok(
        ADD_BLOCK, {"p": patron["id"], "t": "LOST", "expires": "2999-01-02T03:04:05Z"}, token=token
    )
    # A time without a zone is taken as UTC.
    data = await gql.ok(
        ADD_BLOCK,
        {"p": patron["id"], "t": "CONDUCT", "expires": "2999-06-01T12:00:00"},
        token=token,
    )
    assert data["addPatronBlock"]["errors"] == []
    blocks = (await _read(gql, token, patron["id"]))["blocks"]
    assert [(b["type"]["code"], b["note"], b["expiresAt"]) for b in blocks] == [
        ("LOST", None, "2999-01-02T03:04:05+00:00"),
        ("CONDUCT", None, "2999-06-01T12:00:00+00:00"),
    ]
    assert (await _read(gql, token, patron["id"]))["version"] == patron["version"] + 2


async def test_invalid_blocks_are_refused_and_nothing_changes(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron = await _first_patron(gql, token, "NEKLS")
    before = await _read(gql, token, patron["id"])
    audit_before = await _audit_actions(connection)
    # EASTERN has its own block type that NEKLS does not.
    eastern = await gql.login("eastern.admin", "EASTERN-MAIN")
    created = await gql.ok(
        'mutation { createBlockType(input: {institution: "EASTERN", code: "LAWFINE", '
        'description: "Law fines"}) '
        "{ errors { code } } }",
        token=eastern,
    )
    assert created["createBlockType"]["errors"] == []
    audit_before.append("create_block_type")
    cases = [
        (
            {"t": "NO_SUCH_TYPE"},
            "INVALID_INPUT",
            "'NO_SUCH_TYPE' is not a block type of this institution.",
            ["input", "blockType"],
        ),
        (
            {"t": "LAWFINE"},
            "INVALID_INPUT",
            "'LAWFINE' is not a block type of this institution.",
            ["input", "blockType"],
        ),
        (
            {"t": "LOST", "note": "n" * 1001},
            "INVALID_INPUT",
            "Notes are at most 1000 characters.",
            ["input", "note"],
        ),
        (
            {"t": "LOST", "expires": "2001-01-01T00:00:00Z"},
            "INVALID_INPUT",
            "The expiry must be in the future.",
            ["input", "expiresAt"],
        ),
        (
            {"t": "LOST", "p": "garbage"},
            "NOT_FOUND",
            "There is no such patron.",
            ["input", "patronId"],
        ),
    ]
    for variables, code, message, field in cases:
        data = await gql.ok(ADD_BLOCK, {"p": patron["id"], **variables}, token=token)
        assert data["addPatronBlock"] == {
            "patron": None,
            "errors": [{"code": code, "message": message, "field": field}],
        }, variables
    assert await _read(gql, token, patron["id"]) == before
    assert await _audit_actions(connection) == audit_before


async def test_other_institutions_patrons_are_not_found(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    eastern = await gql.login("eastern.admin", "EASTERN-MAIN")
    patron = await _first_patron(gql, eastern, "EASTERN")
    added = await gql.ok(
        ADD_BLOCK, {"p": patron["id"], "t": "LOST", "note": "Eastern's"}, token=eastern
    )
    block_id = added["addPatronBlock"]["patron"]["blocks"][0]["id"]
    before = await _read(gql, eastern, patron["id"])
    audit_before = await _audit_actions(connection)

    nekls = await gql.login("lansing.librarian", "LANSING")
    data = await gql.ok(ADD_BLOCK, {"p": patron["id"], "t": "LOST"}, token=nekls)
    assert data["addPatronBlock"] == {
        "patron": None,
        "errors": [
            {
                "code": "NOT_FOUND",
                "message": "There is no such patron.",
                "field": ["input", "patronId"],
            }
        ],
    }
    removed = await gql.ok(REMOVE_BLOCK, {"id": block_id}, token=nekls)
    missing = await gql.ok(
        REMOVE_BLOCK,
        {"id": base64.urlsafe_b64encode(b"PatronBlock:99999999").decode().rstrip("=")},
        token=nekls,
    )
    # The same answer as for a block that does not exist: nothing reveals it.
    assert (
        removed
        == missing
        == {
            "removePatronBlock": {
                "patron": None,
                "errors": [
                    {
                        "code": "NOT_FOUND",
                        "message": "There is no such block.",
                        "field": ["input", "id"],
                    }
                ],
            }
        }
    )
    assert await _read(gql, eastern, patron["id"]) == before
    assert await _audit_actions(connection) == audit_before


async def test_circulation_staff_cannot_add_or_remove_blocks(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("eastern.admin", "EASTERN-MAIN")
    patron = await _first_patron(gql, admin, "EASTERN")
    added = await gql.ok(ADD_BLOCK, {"p": patron["id"], "t": "FINES"}, token=admin)
    block_id = added["addPatronBlock"]["patron"]["blocks"][0]["id"]
    before = await _read(gql, admin, patron["id"])
    audit_before = await _audit_actions(connection)

    circ = await gql.login("eastern.circ", "EASTERN-MAIN")
    forbidden = {
        "code": "FORBIDDEN",
        "message": "Only librarians of the patron's institution may change it.",
        "field": None,
    }
    data = await gql.ok(ADD_BLOCK, {"p": patron["id"], "t": "LOST"}, token=circ)
    assert data["addPatronBlock"] == {"patron": None, "errors": [forbidden]}
    data = await gql.ok(REMOVE_BLOCK, {"id": block_id}, token=circ)
    assert data["removePatronBlock"] == {"patron": None, "errors": [forbidden]}
    # CIRCULATION may still read the patron and its blocks.
    assert await _read(gql, circ, patron["id"]) == before
    assert await _audit_actions(connection) == audit_before


async def test_blocks_need_a_session(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron = await _first_patron(gql, token, "NEKLS")
    body = await gql(ADD_BLOCK, {"p": patron["id"], "t": "LOST"})
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert (await _read(gql, token, patron["id"]))["blocks"] == []


# ---------------------------------------------------------------- photos


async def test_librarian_uploads_replaces_and_removes_a_photo(
    client: httpx.AsyncClient, gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron = await _first_patron(gql, token, "NEKLS")
    version = patron["version"]
    png = image("PNG", (40, 30))

    payload = await set_photo(client, token, patron["id"], png)
    # Stored re-encoded as JPEG (same size: it is under the 1024-pixel bound)
    stored = await _stored_photo(connection, patron["id"])
    assert stored is not None
    assert stored[0] == "image/jpeg"
    assert _decoded(stored[1]) == ("JPEG", (40, 30))
    assert payload == {
        "patron": {
            "id": patron["id"],
            "version": version + 1,
            "photo": {
                "contentType": "image/jpeg",
                "width": 40,
                "height": 30,
                "byteSize": len(stored[1]),
            },
        },
        "errors": [],
    }
    assert (await _read(gql, token, patron["id"]))["photo"] == payload["patron"]["photo"]

    jpeg = image("JPEG", (64, 80))
    payload = await set_photo(client, token, patron["id"], jpeg, "me.jpg", "image/jpeg")
    assert payload["errors"] == []
    assert payload["patron"]["version"] == version + 2
    photo = (await _read(gql, token, patron["id"]))["photo"]
    stored = await _stored_photo(connection, patron["id"])
    assert stored is not None
    assert _decoded(stored[1]) == ("JPEG", (64, 80))
    assert photo == {
        "contentType": "image/jpeg",
        "width": 64,
        "height": 80,
        "byteSize": len(stored[1]),
    }

    data = await gql.ok(REMOVE_PHOTO, {"id": patron["id"]}, token=token)
    assert data["removePatronPhoto"] == {
        "patron": {"id": patron["id"], "version": version + 3, "photo": None},
        "errors": [],
    }
    read = await _read(gql, token, patron["id"])
    assert (read["version"], read["photo"]) == (version + 3, None)
    stored = await connection.execute(text("SELECT count(*) FROM patron_photo"))
    assert stored.scalar_one() == 0
    # Removing again changes nothing.
    data = await gql.ok(REMOVE_PHOTO, {"id": patron["id"]}, token=token)
    assert data["removePatronPhoto"]["patron"]["version"] == version + 3
    assert (await _audit_actions(connection))[-3:] == ["set_photo", "set_photo", "remove_photo"]


def _truncated_png() -> bytes:
    data = image("PNG", (200, 200), noise=True)
    return data[: len(data) // 2]


BAD_FILES = [
    (
        "text renamed .png",
        b"Dear library, this is not an image at all.\n" * 20,
        "photo.png",
        "The file is not a readable image (UnidentifiedImageError).",
    ),
    ("truncated png", None, "photo.png", None),
    ("too many pixels", None, "huge.png", "The photo is 5000x4000 pixels; that is too large."),
    ("too many bytes", None, "noise.png", None),
    ("gif", None, "anim.gif", "Photos must be JPEG, PNG or WebP images (this is GIF)."),
    ("empty", b"", "empty.png", "The file is empty."),
    ("bomb", None, "bomb.png", None),
]


def _bomb() -> bytes:
    """12,000 x 12,000 one-bit pixels: a small file that would decode to a huge image."""
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, format="PNG")
    return out.getvalue()


async def test_bad_files_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron = await _first_patron(gql, token, "NEKLS")
    # An existing photo stays as it was.
    assert (await set_photo(client, token, patron["id"], image("PNG")))["errors"] == []
    before = await _read(gql, token, patron["id"])
    stored_before = await _stored_photo(connection, patron["id"])
    audit_before = await _audit_actions(connection)
    noise = image("PNG", (1000, 1000), noise=True)
    assert len(noise) > 2 * 1024 * 1024
    contents = {
        "truncated png": _truncated_png(),
        "too many pixels": image("PNG", (5000, 4000)),
        "too many bytes": noise,
        "gif": image("GIF"),
        "bomb": _bomb(),
    }
    for label, data, filename, message in BAD_FILES:
        data = contents.get(label, data)
        assert data is not None
        payload = await set_photo(client, token, patron["id"], data, filename, "image/png")
        assert payload["patron"] is None, label
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "file"]), label
        if message is not None:
            assert error["message"] == message, label
        elif label == "bomb":
            # Pillow's guard speaks first when warnings are errors (as in this suite),
            # ours otherwise.
            assert error["message"] in (
                "The photo has too many pixels to be read safely.",
                "The photo is 12000x12000 pixels; that is too large.",
            )
        elif label == "too many bytes":
            assert (
                error["message"]
                == "The photo is larger than the limit of 2048 KiB; send a smaller file."
            )
        else:
            assert error["message"].startswith("The file is not a readable image"), (label, error)
    assert await _read(gql, token, patron["id"]) == before
    assert await _stored_photo(connection, patron["id"]) == stored_before
    assert await _audit_actions(connection) == audit_before


async def test_photo_data_url(
    client: httpx.AsyncClient, gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron = await _first_patron(gql, token, "NEKLS")
    png = image("PNG", (12, 10))
    assert (await set_photo(client, token, patron["id"], png))["errors"] == []
    data = await gql.ok(
        "query($id: ID!) { node(id: $id) { ... on Patron { photo { dataUrl } } } }",
        {"id": patron["id"]},
        token=token,
    )
    stored = await _stored_photo(connection, patron["id"])
    assert stored is not None
    assert data["node"]["photo"] == {
        "dataUrl": "data:image/jpeg;base64," + base64.b64encode(stored[1]).decode()
    }


async def test_photos_are_stored_small_upright_and_without_metadata(
    client: httpx.AsyncClient, gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron = await _first_patron(gql, token, "NEKLS")
    # A large photo from a camera, with its position in EXIF, taken on its side
    image = Image.frombytes("RGB", (3000, 2000), os.urandom(3000 * 2000 * 3)[: 3000 * 2000 * 3])
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to show it upright
    exif[0x010F] = "Camera maker"
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=30, exif=exif.tobytes())
    payload = await set_photo(client, token, patron["id"], out.getvalue(), "cam.jpg", "image/jpeg")
    assert payload["errors"] == [], payload
    stored = await _stored_photo(connection, patron["id"])
    assert stored is not None
    # Then it is stored upright, at most 1024 pixels on its long side, without EXIF
    with Image.open(io.BytesIO(stored[1])) as kept:
        assert (kept.format, kept.size) == ("JPEG", (683, 1024))
        assert not kept.getexif()
    assert payload["patron"]["photo"]["width"] == 683
    # And a transparent PNG is flattened on white
    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    out = io.BytesIO()
    rgba.save(out, format="PNG")
    assert (await set_photo(client, token, patron["id"], out.getvalue()))["errors"] == []
    stored = await _stored_photo(connection, patron["id"])
    assert stored is not None
    with Image.open(io.BytesIO(stored[1])) as kept:
        assert kept.convert("RGB").getpixel((10, 10)) >= (250, 250, 250)


async def test_photos_of_other_institutions_and_by_circulation_are_refused(
    client: httpx.AsyncClient, gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("eastern.admin", "EASTERN-MAIN")
    patron = await _first_patron(gql, admin, "EASTERN")
    before = await _read(gql, admin, patron["id"])
    png = image("PNG")

    nekls = await gql.login("lansing.librarian", "LANSING")
    payload = await set_photo(client, nekls, patron["id"], png)
    assert payload == {
        "patron": None,
        "errors": [
            {
                "code": "NOT_FOUND",
                "message": "There is no such patron.",
                "field": ["input", "patronId"],
            }
        ],
    }
    circ = await gql.login("eastern.circ", "EASTERN-MAIN")
    payload = await set_photo(client, circ, patron["id"], png)
    assert payload["errors"] == [
        {
            "code": "FORBIDDEN",
            "message": "Only librarians of the patron's institution may change it.",
            "field": None,
        }
    ]
    assert await _read(gql, admin, patron["id"]) == before
    stored = await connection.execute(text("SELECT count(*) FROM patron_photo"))
    assert stored.scalar_one() == 0


async def test_upload_without_a_session_is_unauthenticated(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron = await _first_patron(gql, token, "NEKLS")
    response = await upload_photo(
        client, "nzs_unknown", patron["id"], image("PNG"), "p.png", "image/png"
    )
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert (await _read(gql, token, patron["id"]))["photo"] is None
