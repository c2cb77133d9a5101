"""Compiled reads: queries answered from one statement, without per-field resolution.

The first time the server sees a query text, it parses and validates it as the general
path does (the same rules and request limits), then asks the compiler of its root field
(COMPILERS) whether it can answer it from the columns of one statement. Where it can,
the text gets a plan; requests with that text then run the plan: the token check, the
domain's read (one statement), and the JSON built straight from the rows. Results are
the general path's, to the byte (tests/graphql/test_compiled.py compares the two for
every field a plan answers, for every kind of caller).

Anything a plan does not cover goes the general way, which gives the answer or the
error: another shape (fragments, directives, fields a plan does not know, several root
fields), variables that do not coerce, no or an unknown token, an argument the resolver
refuses, a failure while reading. The general path is then a first try that cost a
parse of the body: no work of the plan's is kept. A read past the request's budget
answers REQUEST_TIMEOUT at once, as the general path would.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import MISSING, dataclass
from typing import Any

import orjson
import strawberry
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryObjectDefinition, StrawberryOptional

from app.auth import tokens
from app.auth.policy import Actor
from app.db import Database, RequestTimedOut, SerialSession, timed_out
from app.graphql import nul_text
from app.graphql.limits import REQUEST_TIMEOUT, limit_rules, timeout_message
from app.observability import metrics
from app.observability.requests import Operation, current_request
from app.settings import Settings

logger = logging.getLogger("netzone.graphql")


class TooLarge(Exception):
    """An answer whose lists hold more items than the request limits allow: left to the
    general path, which refuses it as it counts (RESULT_TOO_LARGE)."""


@dataclass(frozen=True)
class Reading:
    """What a plan reads with: the request's session (reads only), caller and settings."""

    db: SerialSession
    actor: Actor
    settings: Settings


# A root field's plan: its coerced arguments -> its value, as JSON-ready data.
Runner = Callable[[Reading, dict[str, Any]], Awaitable[Any]]
# A root field's compiler: the field as asked -> its plan, or None (the general path).
Compiler = Callable[[FieldNode], Runner | None]


@dataclass(frozen=True)
class Plan:
    operation: OperationDefinitionNode
    node: FieldNode
    definition: GraphQLField
    name: str  # the root field's name, as counted in the metrics
    run: Runner
    # The root field's arguments: (GraphQL name, Python name, conversion: Plans.converter).
    arguments: tuple[tuple[str, str, Callable[[Any], Any]], ...]

    @property
    def key(self) -> str:
        return self.node.alias.value if self.node.alias else self.node.name.value


def plain_fields(selections: SelectionSetNode | None) -> list[tuple[str, FieldNode]] | None:
    """The fields of a selection set as (response key, field), or None unless each is a
    plain field: no fragment, no directive, every response key once."""
    if selections is None:
        return None
    found: list[tuple[str, FieldNode]] = []
    keys: set[str] = set()
    for selection in selections.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            return None
        key = selection.alias.value if selection.alias else selection.name.value
        if key in keys:
            return None
        keys.add(key)
        found.append((key, selection))
    return found


class Plans:
    """The plans of query texts, found once per text (an LRU cache of the settings' size)."""

    def __init__(
        self, schema: strawberry.Schema, settings: Settings, compilers: dict[str, Compiler]
    ) -> None:
        self.schema: GraphQLSchema = schema._schema
        self.config = schema.config
        self.scalars = schema.schema_converter.scalar_registry
        self.settings = settings
        self.compilers = compilers
        self.rules = (*specified_rules, *limit_rules(settings))
        self.find = functools.lru_cache(maxsize=settings.cache_size)(self._compile)

    def arguments(self, plan: Plan, variables: VariableValues) -> dict[str, Any]:
        """The root field's arguments as its resolver gets them: strawberry's conversion
        (strawberry.types.arguments.convert_arguments: input types as their classes,
        enums as members, by Python names), worked out once per plan (converter)."""
        values = get_argument_values(plan.definition, plan.node, variables)
        return {
            python_name: convert(values[name])
            for name, python_name, convert in plan.arguments
            if name in values
        }

    def converter(self, type_: Any) -> Callable[[Any], Any]:
        """strawberry's conversion of a value of this argument type (convert_argument),
        with what it works out on every call (input fields' names and types) worked out
        once. Types it does not unfold here (scalars, enums, inputs with from_input) go
        to convert_argument itself."""
        if isinstance(type_, StrawberryOptional):
            inner = self.converter(type_.of_type)
            return lambda value: None if value is None else inner(value)
        definition = getattr(type_, "__strawberry_definition__", None)
        if (
            isinstance(definition, StrawberryObjectDefinition)
            and definition.is_input
            and definition.from_input is None
        ):
            names = self.config.name_converter
            implicit = {
                field.python_name: None
                for field in definition.fields
                if field.default_value is MISSING and field.default_factory is MISSING
            }
            fields = [
                (
                    names.from_field(field),
                    field.python_name,
                    self.converter(field.resolve_type(type_definition=definition)),
                )
                for field in definition.fields
            ]

            def build(value: Any) -> Any:
                kwargs = dict(implicit)
                for name, python_name, convert in fields:
                    if name in value:
                        kwargs[python_name] = convert(value[name])
                return type_(**kwargs)

            return build
        scalars, config = self.scalars, self.config
        return lambda value: convert_argument(value, type_, scalars, config)

    def _compile(self, query: str, operation_name: str | None) -> Plan | None:
        try:
            document = parse(query, max_tokens=self.settings.max_tokens)
        except GraphQLError:
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or len(document.definitions) != 1:
            return None
        operation = operations[0]
        if operation.operation is not OperationType.QUERY or operation.directives:
            return None
        if operation_name is not None and (
            operation.name is None or operation.name.value != operation_name
        ):
            return None
        roots = plain_fields(operation.selection_set)
        if roots is None or len(roots) != 1:
            return None
        node = roots[0][1]
        compiler = self.compilers.get(node.name.value)
        if compiler is None or nul_text.nul_literal(document) is not None:
            return None
        if validate(self.schema, document, self.rules):
            return None  # the general path answers with the errors
        run = compiler(node)
        if run is None:
            return None
        query_type = self.schema.query_type
        assert query_type is not None
        definition = query_type.fields[node.name.value]
        field = definition.extensions["strawberry-definition"]
        arguments = tuple(
            (self.config.name_converter.from_argument(a), a.python_name, self.converter(a.type))
            for a in field.arguments
        )
        return Plan(operation, node, definition, node.name.value, run, arguments)


async def _body(request: Request) -> tuple[str, str | None, dict[str, Any]] | None:
    """(query, operation name, variables) of a JSON POST of one operation, else None."""
    if request.method != "POST":
        return None
    if not request.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    query, name, variables = data.get("query"), data.get("operationName"), data.get("variables")
    if not isinstance(query, str) or not isinstance(name, str | None):
        return None
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        return None
    return query, name, variables


async def answer(
    plans: Plans, database: Database, request: Request, token: str | None
) -> Response | None:
    """The response of a request a plan answers, or None: the general path answers it."""
    if token is None:
        return None  # refused by the general path, with its message
    body = await _body(request)
    if body is None:
        return None
    query, name, variables = body
    plan = plans.find(query, name)
    if plan is None or nul_text.nul_in(variables, "") is not None:
        return None
    coerced = get_variable_values(
        plans.schema, plan.operation.variable_definitions or (), variables
    )
    if isinstance(coerced, list):
        return None  # the general path reports the variables' errors
    started = time.perf_counter()
    settings = plans.settings
    try:
        args = plans.arguments(plan, coerced)
        async with database.reads(time.monotonic() + settings.request_timeout) as db:
            async with db.use() as raw:
                actor = await tokens.authenticate(session=raw, token=token)
            if actor is None:
                return None
            value = await plan.run(Reading(db, actor, settings), args)
    except Exception as error:
        if isinstance(error, RequestTimedOut) or timed_out(error):
            # Past the budget: answered as the general path answers it (trying that
            # too would take the budget twice).
            stopped = {
                "message": timeout_message(settings),
                "extensions": {"code": REQUEST_TIMEOUT},
            }
            return _answered(plan, "error", started, {"data": None, "errors": [stopped]})
        # Anything else: the general path answers, errors and all.
        logger.debug("compiled read of %s left to the general path: %r", plan.name, error)
        return None
    return _answered(plan, "ok", started, {"data": {plan.key: value}})


def _answered(plan: Plan, outcome: str, started: float, body: dict[str, Any]) -> Response:
    """The response, with the operation counted and logged as the general path does."""
    record = current_request()
    if record is not None:
        record.operations.append(Operation([plan.name], outcome, executed=True))
    metrics.graphql_operation([plan.name], outcome, time.perf_counter() - started)
    metrics.GRAPHQL_COMPILED.labels(plan.name).inc()
    return Response(orjson.dumps(body), media_type="application/json")
