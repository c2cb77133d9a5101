"""Every type, field, argument, input field and enum value of the schema is described.

Clients read these descriptions in GraphiQL and in generated code; an undescribed
element is a question left to the integrator. Built-in scalars and introspection
types are the GraphQL specification's, described there.
"""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    introspection_types,
    specified_scalar_types,
)

from app.graphql.schema import export_sdl


def _blank(description: str | None) -> bool:
    return not (description or "").strip()


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Coordinates (`Type`, `Type.field`, `Type.field(arg)`, `Enum.VALUE`) lacking a description."""
    missing: list[str] = []
    for name, graphql_type in sorted(schema.type_map.items()):
        if name in specified_scalar_types or name in introspection_types:
            continue
        if _blank(graphql_type.description):
            missing.append(name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                if _blank(field.description):
                    missing.append(f"{name}.{field_name}")
                missing.extend(
                    f"{name}.{field_name}({arg_name})"
                    for arg_name, arg in field.args.items()
                    if _blank(arg.description)
                )
        elif isinstance(graphql_type, GraphQLInputObjectType):
            missing.extend(
                f"{name}.{field_name}"
                for field_name, field in graphql_type.fields.items()
                if _blank(field.description)
            )
        elif isinstance(graphql_type, GraphQLEnumType):
            missing.extend(
                f"{name}.{value_name}"
                for value_name, value in graphql_type.values.items()
                if _blank(value.description)
            )
    return missing


def test_every_element_of_the_schema_has_a_description() -> None:
    missing = undescribed(build_schema(export_sdl()))
    if missing:
        pytest.fail(f"{len(missing)} schema elements lack a description:\n" + "\n".join(missing))


def test_the_check_reports_each_kind_of_undescribed_element() -> None:
    schema = build_schema(
        """
        "Reads."
        type Query {
          "A patron."
          patron("Its id." id: ID!, library: String): Patron
        }

        "A person."
        type Patron {
          "Family name."
          surname: String
          givenName: String
        }

        input PatronInput {
          "Family name."
          surname: String
        }

        "Kinds."
        enum Kind {
          "The first."
          ONE
          TWO
        }

        "Either."
        union Anything = Patron

        scalar Opaque

        extend type Query {
          "Kinds."
          kinds(input: PatronInput): [Kind!]!
          "Anything."
          anything: Anything
          "Opaque."
          opaque: Opaque
        }
        """
    )
    assert undescribed(schema) == [
        "Kind.TWO",
        "Opaque",
        "Patron.givenName",
        "PatronInput",
        "Query.patron(library)",
        "Query.kinds(input)",
    ]


def test_a_fully_described_schema_passes_and_built_in_types_are_exempt() -> None:
    schema = build_schema(
        """
        "Reads."
        type Query {
          "Whether it works."
          ok("Any text." echo: String): Boolean!
        }
        """
    )
    assert undescribed(schema) == []
