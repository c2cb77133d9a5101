"""Smaller imports: library group memberships (CSV) and patron photos (zip).

Both match patrons by admin system id, report every problem with its line or file
name, and write all or nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.policy import Actor, can_manage_patrons, require, require_authenticated
from app.errors import DomainError, ErrorCode
from app.network import service as network
from app.network.models import IdentifierType, Institution, LibraryGroup
from app.patrons.models import Patron, PatronIdentifier, PatronLibraryGroup
from app.patrons.photos import prepare_photo, store_photo
from app.patrons.versions import bump_version
from app.settings import Settings
from app.sql import pk

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}
MAX_PHOTOS = 100_000


@dataclass
class ExtraImportResult:
    added: int = 0
    unchanged: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (where, code, message)
    dry_run: bool = True

    @property
    def written(self) -> bool:
        return not self.problems and not self.dry_run


async def _institution(session: AsyncSession, actor: Actor, code: str) -> Institution:
    require_authenticated(actor)
    institution = await network.institution_by_code(session, code)
    if institution is None or not can_manage_patrons(actor, institution.id):  # type: ignore[arg-type]
        require(False, actor, "Only librarians of the institution may import its patrons' data.")
    assert institution is not None
    return institution


async def _patron_by_admin_id(
    session: AsyncSession, institution_id: int, value: str
) -> Patron | None:
    return (
        (
            await session.execute(
                select(Patron)
                .join(PatronIdentifier, col(PatronIdentifier.patron_id) == col(Patron.id))
                .join(
                    IdentifierType,
                    col(IdentifierType.id) == col(PatronIdentifier.identifier_type_id),
                )
                .where(
                    col(PatronIdentifier.institution_id) == institution_id,
                    col(IdentifierType.code) == network.ADMIN_SYSTEM_ID,
                    col(PatronIdentifier.value_key) == value.strip().lower(),
                )
            )
        )
        .scalars()
        .first()
    )


def csv_reader(content: bytes) -> Any:
    """A CSV reader over an uploaded file (UTF-8, a byte order mark allowed); INVALID_INPUT
    when the file is not UTF-8 text."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "The file is not UTF-8 text.", ["file"]
        ) from exc
    return csv.reader(io.StringIO(text, newline=""))


async def import_memberships(
    *, session: AsyncSession, actor: Actor, institution_code: str, content: bytes, dry_run: bool
) -> ExtraImportResult:
    """Add patrons to library groups from a CSV with the columns `group, admin_system_id`."""
    institution = await _institution(session, actor, institution_code)
    result = ExtraImportResult(dry_run=dry_run)
    reader = csv_reader(content)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if sorted(header) != ["admin_system_id", "group"]:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                "The columns are group and admin_system_id.",
                ["file"],
            )
        groups = {
            name.lower(): group_id
            for name, group_id in (
                await session.execute(
                    select(col(LibraryGroup.name), pk(LibraryGroup.id)).where(
                        col(LibraryGroup.institution_id) == institution.id
                    )
                )
            ).all()
        }
        for cells in reader:
            line = f"line {reader.line_num}"
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != 2:
                result.problems.append(
                    (line, ErrorCode.INVALID_INPUT.value, "A row has two cells.")
                )
                continue
            row = dict(zip(header, (c.strip() for c in cells), strict=True))
            group_id = groups.get(row["group"].lower())
            patron = await _patron_by_admin_id(session, institution.id, row["admin_system_id"])  # type: ignore[arg-type]
            if group_id is None:
                result.problems.append(
                    (
                        f"{line}, column group",
                        ErrorCode.INVALID_INPUT.value,
                        f"{institution.code} has no library group {row['group']!r}.",
                    )
                )
            if patron is None:
                result.problems.append(
                    (
                        f"{line}, column admin_system_id",
                        ErrorCode.NOT_FOUND.value,
                        f"No patron has admin system id {row['admin_system_id']!r}.",
                    )
                )
            if group_id is None or patron is None:
                continue
            member = await session.get(PatronLibraryGroup, (patron.id, group_id))
            if member is not None:
                result.unchanged += 1
                continue
            session.add(PatronLibraryGroup(patron_id=patron.id, library_group_id=group_id))  # type: ignore[arg-type]
            await session.flush()
            await bump_version(session, patron.id)  # type: ignore[arg-type]
            await audit.record(
                session=session,
                actor=actor,
                action="import_library_group",
                entity_type="Patron",
                entity_id=patron.id,
                institution_id=institution.id,
                changes={"libraryGroups": {"before": None, "after": row["group"]}},
            )
            result.added += 1
    except csv.Error as exc:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, f"The file is not valid CSV: {exc}.", ["file"]
        ) from exc
    await _finish(session, result)
    return result


async def import_photos(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    institution_code: str,
    content: bytes,
    dry_run: bool,
) -> ExtraImportResult:
    """Patron photos from a zip of `<admin_system_id>.jpg|png`, each image validated."""
    institution = await _institution(session, actor, institution_code)
    result = ExtraImportResult(dry_run=dry_run)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "The file is not a zip archive.", ["file"]
        ) from exc
    decoded_pixels = decoded_bytes = 0
    with archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        if len(entries) > MAX_PHOTOS:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                f"At most {MAX_PHOTOS} photos per archive.",
                ["file"],
            )
        for entry in entries:
            name = PurePosixPath(entry.filename).name
            if name.startswith(".") or "__MACOSX" in entry.filename:
                continue
            suffix = PurePosixPath(name).suffix.lower()
            if suffix not in PHOTO_SUFFIXES:
                result.problems.append(
                    (name, ErrorCode.INVALID_INPUT.value, "Photos are .jpg or .png files.")
                )
                continue
            if entry.file_size > settings.photo_max_bytes:
                result.problems.append(
                    (
                        name,
                        ErrorCode.INVALID_INPUT.value,
                        f"The photo is larger than {settings.photo_max_bytes // 1024} KiB.",
                    )
                )
                continue
            patron = await _patron_by_admin_id(session, institution.id, PurePosixPath(name).stem)  # type: ignore[arg-type]
            if patron is None:
                result.problems.append(
                    (
                        name,
                        ErrorCode.NOT_FOUND.value,
                        f"No patron has admin system id {PurePosixPath(name).stem!r}.",
                    )
                )
                continue
            try:
                data = archive.read(entry)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
                # A damaged member, one whose header lies about its size (the CRC check
                # fails), an unknown compression method or an encrypted one.
                result.problems.append(
                    (
                        name,
                        ErrorCode.INVALID_INPUT.value,
                        "The photo cannot be read from the archive (damaged, encrypted, "
                        "or not the size its header gives).",
                    )
                )
                continue
            try:
                prepared = await asyncio.to_thread(
                    prepare_photo,
                    data,
                    max_bytes=settings.photo_max_bytes,
                    max_pixels=settings.photo_max_pixels,
                )
            except DomainError as error:
                result.problems.append((name, error.errors[0].code.value, error.errors[0].message))
                continue
            decoded_pixels += prepared.decoded_pixels
            decoded_bytes += prepared.decoded_bytes
            if (
                decoded_pixels > settings.photo_upload_max_pixels
                or decoded_bytes > settings.photo_upload_max_decoded_bytes
            ):
                # The whole upload is refused (the caller rolls back what was stored).
                raise DomainError.of(
                    ErrorCode.INVALID_INPUT,
                    f"The photos of this archive decode to more than one upload may "
                    f"({settings.photo_upload_max_pixels:,} pixels or "
                    f"{settings.photo_upload_max_decoded_bytes // (1024 * 1024)} MB in all, "
                    f"reached at {name}); nothing was stored. Send them in smaller archives.",
                    ["file"],
                )
            await store_photo(
                session=session,
                settings=settings,
                actor=actor,
                patron=patron,
                data=data,
                prepared=prepared,
            )
            result.added += 1
    await _finish(session, result)
    return result


async def _finish(session: AsyncSession, result: ExtraImportResult) -> None:
    if result.written:
        await session.commit()
    else:
        await session.rollback()
