"""Patron photos as a frontend sends them: images made here and the GraphQL multipart upload."""

from __future__ import annotations

import io
import os
from typing import Any

import httpx
import orjson
from PIL import Image

SET_PHOTO = """mutation($id: ID!, $file: Upload!) {
  setPatronPhoto(input: {patronId: $id, file: $file}) {
    patron { id version photo { contentType width height byteSize } }
    errors { code message field }
  }
}"""


def image(fmt: str, size: tuple[int, int] = (40, 30), noise: bool = False) -> bytes:
    """An image in this format (PIL's name, e.g. PNG), plain or of random noise."""
    if noise:
        picture = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        picture = Image.new("RGB", size, (200, 40, 90))
    out = io.BytesIO()
    picture.save(out, format=fmt)
    return out.getvalue()


async def upload_photo(
    client: httpx.AsyncClient,
    token: str,
    patron_id: str,
    data: bytes,
    filename: str,
    content_type: str,
) -> httpx.Response:
    """A GraphQL multipart request (operations, map, file), as Apollo and urql send it."""
    operations = {"query": SET_PHOTO, "variables": {"id": patron_id, "file": None}}
    return await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.file"]}).decode(),
        },
        files={"0": (filename, data, content_type)},
        headers={"authorization": f"Bearer {token}"},
    )


async def set_photo(
    client: httpx.AsyncClient,
    token: str,
    patron_id: str,
    data: bytes,
    filename: str = "photo.png",
    content_type: str = "image/png",
) -> dict[str, Any]:
    response = await upload_photo(client, token, patron_id, data, filename, content_type)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["setPatronPhoto"]
    return payload
