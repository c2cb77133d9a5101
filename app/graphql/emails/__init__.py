"""GraphQL of the email checks: bounce intake, the blacklist, alerts."""
