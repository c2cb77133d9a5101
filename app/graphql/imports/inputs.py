"""Inputs of the imports: the file and how to import it."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from app.graphql.imports.types import ImportMatch, ImportMode


@strawberry.input(description="A CSV file of patrons and how to import it.")
class ImportPatronsInput:
    institution: str = strawberry.field(
        description="Code of the institution the patrons belong to (LIBRARIAN there)."
    )
    file: Upload = strawberry.field(
        description="The CSV (UTF-8, RFC 4180, a header row of patron field columns and "
        "attribute:<CODE>), as a multipart upload."
    )
    match_on: ImportMatch = strawberry.field(description="The column that finds existing patrons.")
    mode: ImportMode = strawberry.field(
        description="Whether rows create patrons, update them, or both."
    )
    dry_run: bool = strawberry.field(
        description="Check and count every row without writing anything."
    )


@strawberry.input(description="A CSV with the columns group and admin_system_id.")
class ImportLibraryGroupMembershipsInput:
    institution: str = strawberry.field(description="Code of the institution (LIBRARIAN there).")
    file: Upload = strawberry.field(description="The CSV, as a multipart upload.")
    dry_run: bool = strawberry.field(description="Check every line without writing anything.")


@strawberry.input(description="A zip of <admin_system_id>.jpg or .png files.")
class ImportPatronPhotosInput:
    institution: str = strawberry.field(description="Code of the institution (LIBRARIAN there).")
    file: Upload = strawberry.field(description="The zip, as a multipart upload.")
    dry_run: bool = strawberry.field(description="Check every image without writing anything.")
