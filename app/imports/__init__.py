"""Patron imports from administration systems (CSV)."""
