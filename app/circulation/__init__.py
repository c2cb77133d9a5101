"""Minimal circulation: loans, check out, check in, the borrowing rules."""
