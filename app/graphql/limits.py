"""Request limits: query cost (connection sizes multiply), on top of strawberry's own limiters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

if TYPE_CHECKING:
    from app.settings import Settings

# Fields that return pages: without `first` they return the default page.
CONNECTION_FIELDS = frozenset(
    {"patrons", "loans", "attributeDiscrepancies", "rowErrors", "auditLog"}
)
# Fields that return one object per id asked for (at most max_page of them).
ID_LIST_FIELDS = {"nodes": "ids"}


def _page(field: FieldNode, default_page: int, max_page: int) -> int | None:
    ids_argument = ID_LIST_FIELDS.get(field.name.value)
    if ids_argument is not None:
        for argument in field.arguments or ():
            if argument.name.value == ids_argument and isinstance(argument.value, ListValueNode):
                return min(len(argument.value.values), max_page)
        return max_page  # a variable: assume the most ids allowed
    for argument in field.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return max(0, min(int(argument.value.value), max_page))
            return max_page  # a variable: assume the largest page
    if field.name.value in CONNECTION_FIELDS:
        return default_page
    return None


def query_cost(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    *,
    multiplier: int = 1,
    default_page: int = 20,
    max_page: int = 100,
    seen: frozenset[str] = frozenset(),
) -> int:
    """Upper bound of the nodes a selection can return (GitHub's rule)."""
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            page = _page(selection, default_page, max_page)
            inner = multiplier
            if page is not None:
                inner = multiplier * max(page, 1)
                total += multiplier * page
            total += query_cost(
                selection.selection_set,
                fragments,
                multiplier=inner,
                default_page=default_page,
                max_page=max_page,
                seen=seen,
            )
        elif isinstance(selection, InlineFragmentNode):
            total += query_cost(
                selection.selection_set,
                fragments,
                multiplier=multiplier,
                default_page=default_page,
                max_page=max_page,
                seen=seen,
            )
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                total += query_cost(
                    fragment.selection_set,
                    fragments,
                    multiplier=multiplier,
                    default_page=default_page,
                    max_page=max_page,
                    seen=seen | {name},
                )
    return total


def cost_rule(max_cost: int, default_page: int, max_page: int) -> type[ValidationRule]:
    class QueryCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {
                d.name.value: d
                for d in self.context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            cost = query_cost(
                node.selection_set, fragments, default_page=default_page, max_page=max_page
            )
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"This query could return up to {cost} objects; the limit is {max_cost}. "
                        "Ask for smaller pages (first) or fewer nested lists.",
                        node,
                        extensions={"code": "QUERY_TOO_COSTLY"},
                    )
                )

    return QueryCostRule


TOO_NESTED = (
    "The query nests fragments too deeply (or in a cycle) to be checked. "
    "Spread fewer fragments inside one another."
)


def _recursion_guarded(rule: type[ValidationRule]) -> type[ValidationRule]:
    """strawberry's depth rule walks fragment spreads recursively in its constructor,
    outside graphql-core's own guard: a long chain (or a cycle) of fragments overflowed
    the interpreter's stack and surfaced as an internal error. It is a refusal instead."""

    class Guarded(rule):  # type: ignore[valid-type,misc]
        def __init__(self, context: Any) -> None:
            try:
                super().__init__(context)
            except RecursionError:
                ValidationRule.__init__(self, context)
                context.report_error(
                    GraphQLError(TOO_NESTED, extensions={"code": "QUERY_TOO_COMPLEX"})
                )

    Guarded.__name__ = Guarded.__qualname__ = rule.__name__
    return Guarded


def limit_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """The validation rules of the request limits (depth, aliases, cost), built once.

    strawberry's QueryDepthLimiter and MaxAliasesLimiter build a new rule class in
    every instance; as per-request extension factories they give every request new
    classes, so ValidationCache (keyed by the rules) never hits. One
    `AddValidationRules(limit_rules(settings))` keeps the same classes for every request.
    """
    return [
        _recursion_guarded(depth_validator(settings.max_depth, None, None)),
        alias_validator(settings.max_aliases),
        cost_rule(settings.max_cost, 20, settings.max_page_size),
    ]


RESULT_TOO_LARGE = "RESULT_TOO_LARGE"


def counting_execution_context(max_objects: int) -> type[Any]:
    """An execution context that stops a request once its lists hold more than
    `max_objects` items in all.

    The cost rule bounds connections before execution; plain lists (an institution's
    libraries, each library's institution's libraries, ...) are only known once resolved,
    and nested they multiply. Counting list items as they are completed stops such a
    query when it crosses the limit, before the answer is built in memory.
    """
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

    class CountingExecutionContext(StrawberryGraphQLCoreExecutionContext):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.list_items = 0

        def complete_list_value(
            self, return_type: Any, field_nodes: Any, info: Any, *rest: Any
        ) -> Any:
            result = rest[1] if len(rest) > 1 else None
            if isinstance(result, list | tuple):
                self.list_items += len(result)
            if self.list_items > max_objects:
                raise GraphQLError(
                    f"This query returns more than {max_objects} objects in its lists "
                    "(lists nested in lists multiply); ask for fewer nested lists.",
                    extensions={"code": RESULT_TOO_LARGE},
                )
            return super().complete_list_value(return_type, field_nodes, info, *rest)

    return CountingExecutionContext
