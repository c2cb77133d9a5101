"""The identifiers a patron edit leads to: the network's identifier types besides the two
built in (set through `identifiers`), the barcode and the admin system id; each of a type
that exists, and unique in the institution."""

from __future__ import annotations

from app.errors import ErrorCode
from app.network import service as network
from app.network.models import IdentifierType
from app.patrons.edits import IDENTIFIER_LIMIT, Edit

# The built-in identifier types are set through their own input fields.
BUILTIN_FIELDS = {network.BARCODE: "barcode", network.ADMIN_SYSTEM_ID: "adminSystemId"}


def _wanted_identifiers(edit: Edit, wanted: dict[str, tuple[str, list[str]]]) -> None:
    """The identifiers of the `identifiers` field, in place of the patron's others."""
    state = edit.state
    for code in [
        c for c in state.identifiers if c not in (network.BARCODE, network.ADMIN_SYSTEM_ID)
    ]:
        del state.identifiers[code]
    for index, (type_code, value) in enumerate(edit.fields["identifiers"] or []):
        type_code = network.normalize_code(type_code)
        path = ["identifiers", str(index)]
        if type_code in (network.BARCODE, network.ADMIN_SYSTEM_ID):
            edit.fail(
                ErrorCode.INVALID_INPUT,
                f"Set {type_code} with the {BUILTIN_FIELDS[type_code]} field.",
                [*path, "type"],
            )
            continue
        if type_code in wanted:
            edit.fail(ErrorCode.INVALID_INPUT, f"{type_code} is given twice.", [*path, "type"])
            continue
        value = (value or "").strip()
        if not value:
            edit.fail(ErrorCode.MANDATORY_FIELD, "Give a value.", [*path, "value"])
            continue
        if len(value) > IDENTIFIER_LIMIT:
            edit.fail(
                ErrorCode.INVALID_INPUT, f"At most {IDENTIFIER_LIMIT} characters.", [*path, "value"]
            )
            continue
        if any(ord(c) < 32 for c in value):
            edit.fail(
                ErrorCode.INVALID_INPUT, "Control characters are not allowed.", [*path, "value"]
            )
            continue
        wanted[type_code] = (value, [*path, "value"])


async def plan_identifiers(edit: Edit) -> dict[str, tuple[IdentifierType, str]]:
    """Work out the identifiers the patron will have and check their uniqueness."""
    wanted: dict[str, tuple[str, list[str]]] = {}  # type code -> (value, error field)
    if "identifiers" in edit.fields:
        _wanted_identifiers(edit, wanted)
    for name, type_code in (
        ("barcode", network.BARCODE),
        ("admin_system_id", network.ADMIN_SYSTEM_ID),
    ):
        if name in edit.fields:
            reported = len(edit.errors)
            value = edit.text(name)  # reports length and control characters itself
            if value is None:
                edit.state.identifiers.pop(type_code, None)
            elif len(edit.errors) == reported:
                wanted[type_code] = (value, [name])
    result: dict[str, tuple[IdentifierType, str]] = {}
    institution = edit.institution
    for type_code, (value, path) in wanted.items():
        identifier_type = await edit.lookups.identifier_type_by_code(edit.session, type_code)
        if identifier_type is None:
            edit.fail(
                ErrorCode.INVALID_INPUT,
                f"There is no identifier type {type_code}.",
                [*path[:-1], "type"] if path[-1] == "value" else path,
            )
            continue
        key = value.lower()
        # Unique per institution and type. A network-unique type (a consortial id)
        # names one person: accounts of other institutions with the same value are
        # that person's accounts there, so only one account per institution holds it.
        assert identifier_type.id is not None
        if await edit.lookups.identifier_taken(
            edit.session, edit.institution_id, identifier_type.id, key, edit.patron_id
        ):
            edit.fail(
                ErrorCode.DUPLICATE_IDENTIFIER,
                f"{identifier_type.name} {value!r} "
                f"already belongs to another patron in {institution.code}.",
                path,
            )
            continue
        edit.state.identifiers[type_code] = value
        result[type_code] = (identifier_type, value)
    return result
