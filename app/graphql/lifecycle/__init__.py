"""GraphQL of the patron lifecycle: bulk username changes and merges."""
