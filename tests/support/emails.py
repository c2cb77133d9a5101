"""Email check tests: a driver over the real HTTP API and a look at the stored state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL

REPORT = """mutation($address: String!, $kind: EmailBounceKind!) {
  reportEmailBounce(input: {address: $address, kind: $kind}) {
    blacklisted { address kind reportedAt }
    errors { code message field }
  }
}"""

REMOVE = """mutation($address: String!) {
  removeEmailFromBlacklist(input: {address: $address}) {
    removedAddress errors { code message field }
  }
}"""

CREATE_PATRON = """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) { patron { id version } errors { code message field } }
}"""

UPDATE_PATRON = """mutation($input: UpdatePatronInput!) {
  updatePatron(input: $input) {
    patron { id primaryEmail alerts { code message } } errors { code message field }
  }
}"""

PATRON_ALERTS = """query($id: ID!) {
  node(id: $id) { ... on Patron { primaryEmail alerts { code message } } }
}"""

INSTITUTION = """query($code: String!) {
  institution(code: $code) {
    alerts { code message count raisedAt }
    settings { emailServiceEnabled }
  }
}"""

SETTINGS = """mutation($institution: String!, $enabled: Boolean!) {
  updateInstitutionSettings(input: {institution: $institution, emailServiceEnabled: $enabled}) {
    errors { code message field }
  }
}"""

BLACKLISTED = {
    "code": "EMAIL_BLACKLISTED",
    "message": "Emails to the primary email address bounce and it is blacklisted; "
    "ask the patron for a new address.",
}
INVALID = {
    "code": "EMAIL_INVALID",
    "message": "The primary email address is not a valid address; ask the patron for a correct one.",
}


def institution_alert(count: int, *, disabled: bool = True) -> dict[str, Any]:
    """The institution alert as the API shows it, raisedAt left out."""
    consequence = (
        "the email service is disabled until they are corrected"
        if disabled
        else "correct them or remove them from the blacklist"
    )
    return {
        "code": "EMAIL_ADDRESSES_FLAGGED",
        "message": f"{count} patron email address(es) are invalid or blacklisted; {consequence}.",
        "count": count,
    }


class EmailApi:
    """The operations of the mail provider, librarians and administrators, over HTTP."""

    def __init__(self, gql: GraphQL) -> None:
        self.gql = gql

    async def report(
        self, token: str | None, address: str, kind: str = "HARD_BOUNCE"
    ) -> dict[str, Any]:
        data = await self.gql.ok(REPORT, {"address": address, "kind": kind}, token)
        payload: dict[str, Any] = data["reportEmailBounce"]
        return payload

    async def remove(self, token: str | None, address: str) -> dict[str, Any]:
        data = await self.gql.ok(REMOVE, {"address": address}, token)
        payload: dict[str, Any] = data["removeEmailFromBlacklist"]
        return payload

    async def create_patron(self, token: str, email: str | None, **fields: Any) -> str:
        fields = {
            "institution": "NEKLS",
            "homeLibrary": "LANSING",
            "surname": "Bouncer",
            "primaryEmail": email,
            **fields,
        }
        data = await self.gql.ok(CREATE_PATRON, {"input": fields}, token)
        payload = data["createPatron"]
        assert payload["errors"] == [], payload
        patron_id: str = payload["patron"]["id"]
        return patron_id

    async def version(self, token: str, patron_id: str) -> int:
        data = await self.gql.ok(
            "query($id: ID!) { node(id: $id) { ... on Patron { version } } }",
            {"id": patron_id},
            token,
        )
        return int(data["node"]["version"])

    async def update_patron(self, token: str, patron_id: str, **fields: Any) -> dict[str, Any]:
        version = await self.version(token, patron_id)
        data = await self.gql.ok(
            UPDATE_PATRON,
            {"input": {"id": patron_id, "expectedVersion": version, **fields}},
            token,
        )
        payload = data["updatePatron"]
        assert payload["errors"] == [], payload
        patron: dict[str, Any] = payload["patron"]
        return patron

    async def alerts(self, token: str, patron_id: str) -> list[dict[str, Any]]:
        data = await self.gql.ok(PATRON_ALERTS, {"id": patron_id}, token)
        alerts: list[dict[str, Any]] = data["node"]["alerts"]
        return alerts

    async def institution(self, token: str, code: str = "NEKLS") -> dict[str, Any]:
        """The institution's alerts (raisedAt checked and left out) and email setting."""
        data = await self.gql.ok(INSTITUTION, {"code": code}, token)
        institution = data["institution"]
        for alert in institution["alerts"]:
            assert isinstance(alert.pop("raisedAt"), str)
        return {
            "alerts": institution["alerts"],
            "emailServiceEnabled": institution["settings"]["emailServiceEnabled"],
        }

    async def set_email_service(self, token: str, enabled: bool, code: str = "NEKLS") -> None:
        data = await self.gql.ok(SETTINGS, {"institution": code, "enabled": enabled}, token)
        assert data["updateInstitutionSettings"]["errors"] == [], data

    async def client(self, admin_token: str, *scopes: str) -> str:
        """A new NEKLS API client with these scopes; returns its secret."""
        return await self.gql.api_client(admin_token, list(scopes), name="Mail provider")


async def email_state(connection: AsyncConnection) -> dict[str, Any]:
    """Everything the email capability stores, to show that a refused call changed nothing."""

    async def rows(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in (await connection.execute(text(sql))).all()]

    return {
        "blacklist": await rows("SELECT address, kind, source FROM email_blacklist ORDER BY id"),
        "flags": await rows(
            "SELECT patron_id, institution_id, address, reason FROM patron_email_flag "
            "ORDER BY patron_id"
        ),
        "alerts": await rows(
            "SELECT institution_id, flagged_count, disabled_audit_id FROM institution_email_alert "
            "ORDER BY institution_id"
        ),
        "services": await rows("SELECT code, email_service_enabled FROM institution ORDER BY code"),
        "audit": await rows(
            "SELECT action, actor_name FROM audit_entry WHERE entity_type IN "
            "('EmailBlacklist', 'Institution') ORDER BY id"
        ),
    }
