"""GraphQL of vendor verification: SIP accounts and authenticatePatron."""
