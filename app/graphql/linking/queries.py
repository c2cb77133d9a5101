"""Collaborative network queries: thin wrappers over app.linking."""

from __future__ import annotations

from datetime import date
from typing import Annotated, NoReturn

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from app.errors import ErrorCode
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError, mutate, user_error
from app.graphql.linking.inputs import NetworkPatronSearchInput
from app.graphql.linking.types import (
    LinkedAccountRule,
    NetworkPatron,
    NetworkPatronSearchResult,
    RuleEvaluation,
)
from app.graphql.network.types import UserGroup
from app.linking import evaluation, search


def _refused(errors: list[UserError]) -> NoReturn:
    """A query's refusal: the first error, as a GraphQL error with its code."""
    raise GraphQLError(errors[0].message, extensions={"code": ErrorCode(errors[0].code).value})


@strawberry.type
class LinkingQueries:
    @typed.field(description="Find patrons of other members to link (shared fields only; audited).")
    async def network_patron_search(
        self,
        info: Info[Context, None],
        input: Annotated[
            NetworkPatronSearchInput,
            strawberry.argument(description="What to look for, and in which institutions."),
        ],
    ) -> NetworkPatronSearchResult:
        ctx = info.context
        return await mutate(
            info,
            lambda s: search.network_search(
                session=s,
                settings=ctx.settings,
                actor=ctx.actor,
                identifier=input.identifier,
                identifier_type=input.identifier_type,
                name=input.name,
                institutions=input.institutions,
            ),
            lambda result: NetworkPatronSearchResult(
                matches=[NetworkPatron(match=m) for m in result.matches],
                errors=[user_error(e) for e in result.errors],
            ),
            NetworkPatronSearchResult,
        )

    @typed.field(
        description="Which rule would apply to a source patron and the dates it would give."
    )
    async def evaluate_linked_account_rules(
        self,
        info: Info[Context, None],
        institution: Annotated[
            str,
            strawberry.argument(
                description="Code of the target institution whose rules to evaluate (SYSTEM_ADMIN "
                ""
                "there)."
            ),
        ],
        source_institution: Annotated[
            str, strawberry.argument(description="Code of the source patron's institution.")
        ],
        source_user_group: Annotated[
            str | None,
            strawberry.argument(
                description="Code of the source patron's user group; omitted: none."
            ),
        ] = None,
        source_expiry_date: Annotated[
            date | None,
            strawberry.argument(description="The source account's expiry date; omitted: none."),
        ] = None,
    ) -> RuleEvaluation:
        ctx = info.context
        result = await mutate(
            info,
            lambda s: evaluation.evaluate_for_admin(
                session=s,
                actor=ctx.actor,
                institution_code=institution,
                source_institution=source_institution,
                source_user_group=source_user_group,
                source_expiry=source_expiry_date,
            ),
            lambda evaluation: evaluation,
            _refused,
            under=None,
        )
        if result is None:
            raise GraphQLError(
                "This institution has no user groups, so it has no rules yet.",
                extensions={"code": "NOT_FOUND"},
            )
        group = await ctx.loaders.user_group_by_id.load(result.user_group_id)
        return RuleEvaluation(
            rule=LinkedAccountRule.of(result.rule),
            user_group=UserGroup.of(group),
            expiry_date=result.expiry_date,
            purge_date=result.purge_date,
        )
