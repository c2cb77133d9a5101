"""The patron registry."""
