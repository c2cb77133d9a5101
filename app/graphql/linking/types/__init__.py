"""GraphQL types of the collaborative network: rules, what an institution shares, links
between accounts, network search, and the payloads of its mutations."""

from __future__ import annotations

from app.graphql.linking.types.institution import (
    InstitutionPayload,
    RestrictedUserGroup,
    SharedField,
    SharedFieldPolicy,
)
from app.graphql.linking.types.links import (
    LinkedAccountSummary,
    LinkReason,
    LinkSource,
    LinkStatus,
)
from app.graphql.linking.types.rules import (
    ExpiryMode,
    ExpiryOutput,
    LinkedAccountRule,
    LinkedAccountRulePayload,
    LinkedAccountRulesPayload,
    PurgeMode,
    PurgeOutput,
    RuleCondition,
    RuleEvaluation,
    RuleOperator,
    RuleParameter,
)
from app.graphql.linking.types.search import (
    LinkAccountPayload,
    NetworkPatron,
    NetworkPatronSearchResult,
)

__all__ = [
    "ExpiryMode",
    "ExpiryOutput",
    "InstitutionPayload",
    "LinkAccountPayload",
    "LinkReason",
    "LinkSource",
    "LinkStatus",
    "LinkedAccountRule",
    "LinkedAccountRulePayload",
    "LinkedAccountRulesPayload",
    "LinkedAccountSummary",
    "NetworkPatron",
    "NetworkPatronSearchResult",
    "PurgeMode",
    "PurgeOutput",
    "RestrictedUserGroup",
    "RuleCondition",
    "RuleEvaluation",
    "RuleOperator",
    "RuleParameter",
    "SharedField",
    "SharedFieldPolicy",
]
