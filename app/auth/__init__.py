"""Identity: logins, sessions, API clients and who may do what."""
