"""Runnable benchmarks of netzone (see bench/README.md)."""
