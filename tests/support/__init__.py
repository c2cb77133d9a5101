"""What the test packages share: the GraphQL client and its login, global ids, the pinned
error paths."""
