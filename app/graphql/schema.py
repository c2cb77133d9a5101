"""The schema: every domain's queries and mutations, with the request limits."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig

from app.graphql import settled
from app.graphql.attributes.mutations import AttributeMutations, AttributeTypeAdminMutations
from app.graphql.attributes.queries import AttributeQueries
from app.graphql.auth.mutations import AuthMutations
from app.graphql.auth.queries import AuthQueries
from app.graphql.circulation.mutations import CirculationMutations
from app.graphql.circulation.types import Loan
from app.graphql.compiled import Compiler
from app.graphql.emails.mutations import EmailMutations
from app.graphql.imports.mutations import ExtraImportMutations, ImportMutations
from app.graphql.imports.types import ImportJob
from app.graphql.lifecycle.mutations import LifecycleMutations
from app.graphql.limits import counting_execution_context, limit_rules
from app.graphql.linking.mutations import LinkingMutations
from app.graphql.linking.queries import LinkingQueries
from app.graphql.linking.types import LinkedAccountRule
from app.graphql.network.mutations import (
    NetworkAdminMutations,
    NetworkMutations,
    PatronValueChoiceMutations,
)
from app.graphql.network.queries import NetworkQueries
from app.graphql.network.types import Institution, Library, LibraryGroup, UserGroup
from app.graphql.node import NodeQueries
from app.graphql.patrons.mutations import PatronMutations
from app.graphql.patrons.queries import PatronQueries
from app.graphql.patrons.queries.compiled import compile_patrons
from app.graphql.patrons.types import Patron, PatronBlock
from app.graphql.preparation import PrepareOperation
from app.graphql.sip2.mutations import Sip2Mutations, SipAccountAdminMutations
from app.graphql.sip2.queries import Sip2Queries
from app.settings import Settings


@strawberry.type(description="Read operations.")
class Query(
    NodeQueries,
    NetworkQueries,
    PatronQueries,
    AttributeQueries,
    LinkingQueries,
    Sip2Queries,
    AuthQueries,
):
    pass


@strawberry.type(description="Write operations: one `input`, a payload with `errors`.")
class Mutation(
    AuthMutations,
    PatronMutations,
    NetworkMutations,
    NetworkAdminMutations,
    PatronValueChoiceMutations,
    AttributeMutations,
    AttributeTypeAdminMutations,
    LinkingMutations,
    CirculationMutations,
    EmailMutations,
    ImportMutations,
    ExtraImportMutations,
    LifecycleMutations,
    Sip2Mutations,
    SipAccountAdminMutations,
):
    pass


# Root fields the compiled read path answers where it can (app.graphql.compiled).
COMPILED_READS: dict[str, Compiler] = {"patrons": compile_patrons}


class NetzoneSchema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Errors are logged where they are masked (app.graphql.view), once, with their id."""


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with the limits of these settings."""
    settled.install()
    return NetzoneSchema(
        query=Query,
        mutation=Mutation,
        types=[
            Patron,
            PatronBlock,
            LinkedAccountRule,
            Loan,
            ImportJob,
            Institution,
            Library,
            LibraryGroup,
            UserGroup,
        ],
        config=StrawberryConfig(
            disable_field_suggestions=True,
            batching_config={"max_operations": settings.max_batch},
        ),
        # Plain lists multiply when nested: counted as they are resolved.
        execution_context_class=counting_execution_context(settings.max_cost),
        # Parse and validation caches, the request limits' rules (built once, so the
        # validation cache can hit), NUL text refused, root fields noted for the metrics.
        extensions=[
            partial(
                PrepareOperation,
                rules=limit_rules(settings),
                max_tokens=settings.max_tokens,
                cache_size=settings.cache_size,
            )
        ],
    )


def export_sdl(settings: Settings | None = None) -> str:
    """The schema's SDL, as committed in schema/schema.graphql."""
    return build_schema(settings or Settings()).as_str() + "\n"
