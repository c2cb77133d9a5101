"""Lifecycle mutations: thin wrappers calling one use-case each."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError, input_path, mutate
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


@strawberry.type
class LifecycleMutations:
    @typed.mutation(
        description="Change usernames in bulk, by a rule over the institution or as listed "
        "(LIBRARIAN). A dry run lists every change and conflict; otherwise all or nothing."
    )
    async def change_usernames(
        self,
        info: Info[Context, None],
        input: Annotated[
            ChangeUsernamesInput,
            strawberry.argument(
                description="The institution, a rule or explicit changes, and whether to apply."
            ),
        ],
    ) -> ChangeUsernamesPayload:
        ctx = info.context
        requested = (
            None
            if input.changes is None
            else [
                usernames.RequestedUsername(decode_pk(c.patron_id, "Patron"), c.new_username)
                for c in input.changes
            ]
        )

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

        return await mutate(
            info,
            lambda session: usernames.change_usernames(
                session=session,
                actor=ctx.actor,
                institution_code=input.institution,
                rule=input.rule,
                changes=requested,
                dry_run=input.dry_run,
            ),
            answer,
            ChangeUsernamesPayload,
        )

    @typed.mutation(
        description="Merge duplicate accounts into a survivor (LIBRARIAN): all HOME accounts "
        "or all linked copies of one source, of one institution; returns the loans moved."
    )
    async def merge_patrons(
        self,
        info: Info[Context, None],
        input: Annotated[
            MergePatronsInput,
            strawberry.argument(description="The surviving patron and its duplicates."),
        ],
    ) -> MergePatronsPayload:
        ctx = info.context
        survivor = decode_pk(input.survivor, "Patron")
        duplicates = [decode_pk(d, "Patron") for d in input.duplicates]

        async def action(session: AsyncSession) -> merges.MergeResult:
            return await merges.merge_patrons(
                session=session, actor=ctx.actor, survivor_id=survivor, duplicate_ids=duplicates
            )

        def answer(result: merges.MergeResult) -> MergePatronsPayload:
            for patron_id in [survivor, *duplicates]:
                if patron_id is not None:
                    ctx.loaders.forget_patron(patron_id)
            return MergePatronsPayload(
                patron=Patron.of(result.patron), loans_moved=result.loans_moved
            )

        return await mutate(info, action, answer, MergePatronsPayload)
