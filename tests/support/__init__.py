"""Helpers the test packages share: GraphQL documents and logins, ids."""
