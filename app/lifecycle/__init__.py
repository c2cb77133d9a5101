"""Patron lifecycle at scale: bulk username changes and merging duplicate accounts."""
