"""GraphQL as the tests send it: through HTTP, as a frontend would, and the login they all
make."""

from __future__ import annotations

from typing import Any

import httpx

from app.demo.seed import DEMO_PASSWORD


def error(code: str, message: str, *field: str) -> dict[str, Any]:
    """A UserError as a payload lists it (``field`` null when no path is given)."""
    return {"code": code, "message": message, "field": list(field) if field else None}


LOGIN = """mutation($u: String!, $p: String!, $l: String!) {
  login(input: {username: $u, password: $p, library: $l}) { token errors { code message field } }
}"""

CREATE_API_CLIENT = """mutation($institution: String!, $name: String!, $scopes: [String!]!,
         $library: String) {
  createApiClient(input: {institution: $institution, name: $name, scopes: $scopes,
                          library: $library}) {
    secret errors { code message field }
  }
}"""


class GraphQL:
    """Sends GraphQL operations through HTTP, as a frontend would."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {**(headers or {}), **({"authorization": f"Bearer {token}"} if token else {})}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.raw(query, variables, token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def ok(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The data of an operation that must not produce top-level errors."""
        body = await self(query, variables, token)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def login_payload(
        self,
        username: str,
        library: str,
        password: str = DEMO_PASSWORD,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """What a login answers: its token (None when refused) and its errors."""
        response = await self.raw(
            LOGIN, {"u": username, "p": password, "l": library}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["login"]
        return payload

    async def login(self, username: str, library: str, password: str = DEMO_PASSWORD) -> str:
        payload = await self.login_payload(username, library, password)
        assert payload["errors"] == [], payload
        token: str = payload["token"]
        return token

    async def api_client(
        self,
        token: str,
        scopes: list[str],
        *,
        name: str,
        institution: str = "NEKLS",
        library: str | None = None,
    ) -> str:
        """The secret of a new API client, created by the holder of `token`."""
        variables = {
            "institution": institution,
            "name": name,
            "scopes": scopes,
            "library": library,
        }
        data = await self.ok(CREATE_API_CLIENT, variables, token)
        payload = data["createApiClient"]
        assert payload["errors"] == [], payload
        secret: str = payload["secret"]
        return secret

    async def login_errors(
        self, username: str, library: str, password: str = DEMO_PASSWORD
    ) -> list[dict[str, Any]]:
        """The errors of a login (empty when it succeeds)."""
        errors: list[dict[str, Any]] = (await self.login_payload(username, library, password))[
            "errors"
        ]
        return errors
