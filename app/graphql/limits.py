"""Request limits: query cost (page sizes multiply, per-item relations weigh more),
a time budget, on top of strawberry's own limiters."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

if TYPE_CHECKING:
    from app.settings import Settings

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"

# Fields that return one object per id asked for (at most max_page of them).
ID_LIST_FIELDS = {"nodes": "ids"}

# Items a plain list (no `first`) is assumed to hold: an institution's libraries, a
# patron's identifiers, ... Lists that turn out longer are still stopped as they
# resolve (RESULT_TOO_LARGE).
LIST_ITEMS = 5

# What a field costs each time it is resolved, on top of the objects it returns:
# relations computed one parent at a time (their own statements per item, no batching)
# weigh about 10 per statement they send; searches weigh what their plans cost.
FIELD_WEIGHTS: dict[tuple[str, str], int] = {
    ("Query", "patrons"): 10,
    ("Query", "attributeDiscrepancies"): 50,
    ("Query", "networkPatronSearch"): 50,
    ("Query", "evaluateLinkedAccountRules"): 10,
    ("Patron", "consortialAccounts"): 50,
    ("Patron", "linkedAccounts"): 10,
    ("Patron", "linkedFrom"): 10,
    ("Patron", "borrowing"): 20,
    ("Patron", "loans"): 10,
    ("Patron", "auditLog"): 10,
    ("Institution", "linkedAccountRules"): 10,
    ("Institution", "restrictedUserGroups"): 10,
    ("Institution", "sharedFields"): 10,
    ("Institution", "searchableIdentifierTypes"): 10,
    ("Institution", "alerts"): 20,
    ("ImportJob", "rowErrors"): 10,
}


@dataclass(frozen=True)
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    default_page: int
    max_page: int


def _first(field: FieldNode, definition: GraphQLField, walk: _Walk) -> int | None:
    """The page a field asks for: `ids` of `nodes`, `first` of a paged field."""
    ids_argument = ID_LIST_FIELDS.get(field.name.value)
    if ids_argument is not None:
        for argument in field.arguments or ():
            if argument.name.value == ids_argument and isinstance(argument.value, ListValueNode):
                return min(len(argument.value.values), walk.max_page)
        return walk.max_page  # a variable: assume the most ids allowed
    if "first" not in definition.args:
        return None
    for argument in field.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return max(0, min(int(argument.value.value), walk.max_page))
            return walk.max_page  # a variable: assume the largest page
    return walk.default_page


def _selection_cost(
    walk: _Walk,
    parent: GraphQLNamedType,
    selection_set: SelectionSetNode | None,
    multiplier: int,
    page: int | None,
    seen: frozenset[str],
) -> int:
    """What a selection on `parent` costs, `multiplier` times over.

    `page` is the size asked of the connection `parent` is (its `edges` and `nodes`
    hold that many items)."""
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__") or not isinstance(
                parent, GraphQLObjectType | GraphQLInterfaceType
            ):
                continue  # introspection is bounded by the schema itself
            definition = parent.fields.get(name)
            if definition is None:
                continue  # an unknown field: another rule reports it
            total += multiplier * FIELD_WEIGHTS.get((parent.name, name), 0)
            named = get_named_type(definition.type)
            if not is_composite_type(named):
                continue  # scalars and enums, and lists of them
            asked = _first(selection, definition, walk)
            listed = is_list_type(get_nullable_type(definition.type))
            if listed:
                items = asked if asked is not None else page if page is not None else LIST_ITEMS
            else:
                items = 1
            total += multiplier * items
            total += _selection_cost(
                walk,
                named,
                selection.selection_set,
                multiplier * max(items, 1),
                asked if not listed else None,
                seen,
            )
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = walk.schema.get_type(condition.name.value) if condition else parent
            total += _selection_cost(
                walk, target or parent, selection.selection_set, multiplier, page, seen
            )
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = walk.fragments.get(name)
            if fragment is not None and name not in seen:
                target = walk.schema.get_type(fragment.type_condition.name.value)
                total += _selection_cost(
                    walk,
                    target or parent,
                    fragment.selection_set,
                    multiplier,
                    page,
                    seen | {name},
                )
    return total


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    *,
    default_page: int = 20,
    max_page: int = 100,
) -> int:
    """An upper bound of the work an operation asks for (GitHub's rule, with weights).

    Every object it may return counts 1: a page of a connection counts its size, a
    plain list `LIST_ITEMS`, and what is inside a list counts once per item. Fields
    that send statements of their own for every parent add their `FIELD_WEIGHTS`.
    """
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    walk = _Walk(schema, fragments, default_page, max_page)
    return _selection_cost(walk, root, operation.selection_set, 1, None, frozenset())


def document_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, max_page: int
) -> int:
    """The cost of the operation of `document` a request runs (0 if it names none)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return 0  # execution refuses it with its own message
    return operation_cost(schema, operations[0], fragments, max_page=max_page)


def too_costly(cost: int, max_cost: int, what: str = "This query") -> str:
    return (
        f"{what} could cost up to {cost}; the limit is {max_cost}. Each object it may "
        "return counts 1, and relations computed for each item count more "
        "(consortialAccounts 50, borrowing 20, linkedAccounts, linkedFrom, loans and "
        "auditLog 10). Ask for smaller pages (first), fewer nested lists or fewer such "
        "relations."
    )


def cost_rule(max_cost: int, default_page: int, max_page: int) -> type[ValidationRule]:
    class QueryCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {
                d.name.value: d
                for d in self.context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            cost = operation_cost(
                self.context.schema,
                node,
                fragments,
                default_page=default_page,
                max_page=max_page,
            )
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        too_costly(cost, max_cost),
                        node,
                        extensions={"code": QUERY_TOO_COSTLY},
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
REQUEST_TIMEOUT = "REQUEST_TIMEOUT"


def timeout_message(settings: Settings) -> str:
    return (
        f"The request ran longer than its budget of {settings.request_timeout:g} s "
        "(NETZONE_REQUEST_TIMEOUT) and was stopped; what it was writing then was not kept. "
        "Ask for smaller pages (first), fewer nested lists or fewer per-item relations, "
        "or split the query."
    )


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
            db = getattr(self.context_value, "db", None)
            self.db = db
            if db is not None and self.operation.operation != OperationType.QUERY:
                # A mutation runs to its end (or its statement's timeout), never halfway.
                db.deadline = None

        def complete_list_value(
            self, return_type: Any, field_nodes: Any, info: Any, *rest: Any
        ) -> Any:
            result = rest[1] if len(rest) > 1 else None
            if isinstance(result, list | tuple):
                self.list_items += len(result)
            deadline = self.db.deadline if self.db is not None else None
            if deadline is not None and time.monotonic() > deadline:
                raise GraphQLError("request budget used up", extensions={"code": REQUEST_TIMEOUT})
            if self.list_items > max_objects:
                raise GraphQLError(
                    f"This query returns more than {max_objects} objects in its lists "
                    "(lists nested in lists multiply); ask for fewer nested lists.",
                    extensions={"code": RESULT_TOO_LARGE},
                )
            return super().complete_list_value(return_type, field_nodes, info, *rest)

    return CountingExecutionContext
