"""``@strawberry.field(...)`` and ``@strawberry.mutation(...)`` with a type for mypy.

Called with arguments, strawberry types both decorators as returning ``Any``, so under
``mypy --strict`` every resolver they decorate is reported as untyped
(strawberry-graphql/strawberry#1929). At runtime these are strawberry's own functions;
for the type checker they return what strawberry returns at runtime: a ``StrawberryField``,
which, called with the resolver, returns itself.
"""

from typing import TYPE_CHECKING

import strawberry

if TYPE_CHECKING:
    from strawberry.types.field import StrawberryField

    def field(*, description: str | None = None) -> StrawberryField: ...

    def mutation(*, description: str | None = None) -> StrawberryField: ...

else:
    field = strawberry.field
    mutation = strawberry.mutation
