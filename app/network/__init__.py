"""Network structure: institutions, libraries, groups, identifier and block types."""
