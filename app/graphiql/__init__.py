"""GraphiQL on `GET /graphql`, served from netzone itself: the page, its Content-Security-Policy,
and the pinned browser files fetched once from npm tarballs (assets.lock.json)."""
