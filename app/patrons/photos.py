"""Patron photos: validated with Pillow, stored in the database."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.policy import Actor
from app.db import utcnow
from app.errors import DomainError, ErrorCode
from app.patrons.models import Patron, PatronPhoto
from app.patrons.service import editable_patron, propagate_source
from app.patrons.versions import bump_version
from app.settings import Settings

# MPO is how Pillow names the JPEGs many phone cameras write (a JPEG with extra frames).
ACCEPTED_FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
}


@dataclass(frozen=True)
class CheckedImage:
    content_type: str
    width: int
    height: int


def check_image(data: bytes, *, max_bytes: int, max_pixels: int) -> CheckedImage:
    """Decode the image fully; refuse anything that is not a sane JPEG, PNG or WebP."""
    field = ["file"]
    if not data:
        raise DomainError.of(ErrorCode.INVALID_INPUT, "The file is empty.", field)
    if len(data) > max_bytes:
        # Callers read at most max_bytes + 1 bytes of an upload: the real size is unknown.
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"The photo is larger than the limit of {max_bytes // 1024} KiB; send a smaller file.",
            field,
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            width, height = probe.size
            if fmt not in ACCEPTED_FORMATS:
                raise DomainError.of(
                    ErrorCode.INVALID_INPUT,
                    f"Photos must be JPEG, PNG or WebP images (this is {fmt or 'unknown'}).",
                    field,
                )
            if width * height > max_pixels:
                raise DomainError.of(
                    ErrorCode.INVALID_INPUT,
                    f"The photo is {width}x{height} pixels; that is too large.",
                    field,
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as full:
            full.load()  # decodes every pixel: truncated files fail here
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard, before ours: the header announces a gigantic image.
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "The photo has too many pixels to be read safely.", field
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"The file is not a readable image ({exc.__class__.__name__}).",
            field,
        ) from exc
    return CheckedImage(content_type=ACCEPTED_FORMATS[fmt], width=width, height=height)


# Photos are stored re-encoded: at most this many pixels on the long side, as JPEG, so
# what a photo writes is bounded whatever was uploaded (and metadata such as EXIF and
# GPS positions is not kept).
STORED_SIDE = 1024
STORED_QUALITY = 85


@dataclass(frozen=True)
class PreparedPhoto:
    """A checked photo, re-encoded for storage."""

    content_type: str
    width: int
    height: int
    data: bytes
    decoded_pixels: int  # of the upload, as decoded
    decoded_bytes: int  # of the upload's pixels in memory


def prepare_photo(data: bytes, *, max_bytes: int, max_pixels: int) -> PreparedPhoto:
    """Check an uploaded image (check_image) and re-encode it for storage: turned upright,
    transparency on white, at most STORED_SIDE pixels on its long side, JPEG, no metadata."""
    checked = check_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    with Image.open(io.BytesIO(data)) as original:
        decoded_bytes = original.width * original.height * len(original.getbands())
        upright = ImageOps.exif_transpose(original) or original
        if upright.mode in ("RGBA", "LA") or "transparency" in upright.info:
            rgba = upright.convert("RGBA")
            flat = Image.new("RGB", rgba.size, "white")
            flat.paste(rgba, mask=rgba.getchannel("A"))
        else:
            flat = upright.convert("RGB")
        flat.thumbnail((STORED_SIDE, STORED_SIDE))
        out = io.BytesIO()
        flat.save(out, "JPEG", quality=STORED_QUALITY, optimize=True)
    return PreparedPhoto(
        content_type="image/jpeg",
        width=flat.width,
        height=flat.height,
        data=out.getvalue(),
        decoded_pixels=checked.width * checked.height,
        decoded_bytes=decoded_bytes,
    )


async def set_photo(
    *, session: AsyncSession, settings: Settings, actor: Actor, patron_id: int, data: bytes
) -> Patron:
    """Store (or replace) the patron's photo."""
    patron = await editable_patron(session, actor, patron_id, ["patron_id"])
    await store_photo(session=session, settings=settings, actor=actor, patron=patron, data=data)
    await session.commit()
    await session.refresh(patron)
    return patron


async def store_photo(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    patron: Patron,
    data: bytes,
    prepared: PreparedPhoto | None = None,
) -> None:
    """set_photo without the checks of the caller and without the commit (photo imports,
    which pass the photo already prepared)."""
    assert patron.id is not None
    patron_id = patron.id
    if prepared is None:
        prepared = await asyncio.to_thread(
            prepare_photo,
            data,
            max_bytes=settings.photo_max_bytes,
            max_pixels=settings.photo_max_pixels,
        )
    existing = await session.get(PatronPhoto, patron_id)
    before = f"{existing.content_type} {existing.width}x{existing.height}" if existing else None
    if existing is None:
        existing = PatronPhoto(
            patron_id=patron_id,
            content_type=prepared.content_type,
            width=prepared.width,
            height=prepared.height,
            byte_size=len(prepared.data),
            data=prepared.data,
        )
        session.add(existing)
    else:
        existing.content_type = prepared.content_type
        existing.width, existing.height = prepared.width, prepared.height
        existing.byte_size = len(prepared.data)
        existing.data = prepared.data
        existing.updated_at = utcnow()
    await session.flush()
    patron.version = await bump_version(session, patron_id)
    await audit.record(
        session=session,
        actor=actor,
        action="set_photo",
        entity_type="Patron",
        entity_id=patron_id,
        institution_id=patron.institution_id,
        changes={
            "photo": {
                "before": before,
                "after": f"{prepared.content_type} {prepared.width}x{prepared.height}",
            }
        },
    )
    if patron.account_type == "HOME":  # a shared photo reaches the linked copies
        await propagate_source(session=session, actor=actor, source_id=patron_id)


async def remove_photo(*, session: AsyncSession, actor: Actor, patron_id: int) -> Patron:
    """Delete the patron's photo, if any."""
    patron = await editable_patron(session, actor, patron_id, ["patron_id"])
    result = await session.execute(
        delete(PatronPhoto).where(col(PatronPhoto.patron_id) == patron_id)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        patron.version = await bump_version(session, patron_id)
        await audit.record(
            session=session,
            actor=actor,
            action="remove_photo",
            entity_type="Patron",
            entity_id=patron_id,
            institution_id=patron.institution_id,
            changes={"photo": {"before": "(photo)", "after": None}},
        )
        if patron.account_type == "HOME":
            await propagate_source(session=session, actor=actor, source_id=patron_id)
        await session.commit()
        await session.refresh(patron)
    return patron
