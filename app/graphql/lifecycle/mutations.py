"""Lifecycle mutations: thin wrappers calling one use-case each."""

from __future__ import annotations

from collections.abc import Callable

import strawberry

from app.graphql.context import Context
from app.graphql.core import UserError, input_path, mutation
from app.graphql.ids import decode_pk, encode_id
from app.graphql.lifecycle.inputs import ChangeUsernamesInput, MergePatronsInput
from app.graphql.lifecycle.types import ChangeUsernamesPayload, MergePatronsPayload, UsernameChange
from app.graphql.patrons.types import Patron
from app.lifecycle import merges, usernames


def _conflict_errors(result: usernames.UsernameChanges) -> list[UserError]:
    """A rule's conflicts name the patron at the end of the path (its global id)."""
    errors = []
    for conflict in result.conflicts:
        field = input_path(conflict.error.field)
        if conflict.patron_id is not None:
            field = [*(field or []), encode_id("Patron", conflict.patron_id)]
        errors.append(
            UserError(code=conflict.error.code, message=conflict.error.message, field=field)
        )
    return errors


def _requested(input: ChangeUsernamesInput) -> list[usernames.RequestedUsername] | None:
    if input.changes is None:
        return None
    return [
        usernames.RequestedUsername(decode_pk(c.patron_id, "Patron"), c.new_username)
        for c in input.changes
    ]


def _changed(
    ctx: Context, _input: ChangeUsernamesInput
) -> Callable[[usernames.UsernameChanges], ChangeUsernamesPayload]:
    """The answer of a username change: once applied, the request's loaders forget the patrons."""

    def answer(result: usernames.UsernameChanges) -> ChangeUsernamesPayload:
        if result.applied:
            for change in result.changes:
                ctx.loaders.forget_patron(change.patron_id)
        return ChangeUsernamesPayload(
            changes=[
                UsernameChange(
                    patron_id=c.patron_id,
                    old_username=c.old_username,
                    new_username=c.new_username,
                )
                for c in result.changes
            ],
            errors=_conflict_errors(result),
        )

    return answer


def _merged(
    ctx: Context, input: MergePatronsInput
) -> Callable[[merges.MergeResult], MergePatronsPayload]:
    """The answer of a merge: the request's loaders forget the survivor and the duplicates."""

    def answer(result: merges.MergeResult) -> MergePatronsPayload:
        for patron_id in [decode_pk(p, "Patron") for p in [input.survivor, *input.duplicates]]:
            if patron_id is not None:
                ctx.loaders.forget_patron(patron_id)
        return MergePatronsPayload(patron=Patron.of(result.patron), loans_moved=result.loans_moved)

    return answer


@strawberry.type
class LifecycleMutations:
    change_usernames = mutation(
        "Change usernames in bulk, by a rule over the institution or as listed "
        "(LIBRARIAN). A dry run lists every change and conflict; otherwise all or nothing.",
        input=(
            ChangeUsernamesInput,
            "The institution, a rule or explicit changes, and whether to apply.",
        ),
        run=lambda s, ctx, input: usernames.change_usernames(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            rule=input.rule,
            changes=_requested(input),
            dry_run=input.dry_run,
        ),
        answer_for=_changed,
        payload=ChangeUsernamesPayload,
    )

    merge_patrons = mutation(
        "Merge duplicate accounts into a survivor (LIBRARIAN): all HOME accounts "
        "or all linked copies of one source, of one institution; returns the loans moved.",
        input=(MergePatronsInput, "The surviving patron and its duplicates."),
        run=lambda s, ctx, input: merges.merge_patrons(
            session=s,
            actor=ctx.actor,
            survivor_id=decode_pk(input.survivor, "Patron"),
            duplicate_ids=[decode_pk(d, "Patron") for d in input.duplicates],
        ),
        answer_for=_merged,
        payload=MergePatronsPayload,
    )
