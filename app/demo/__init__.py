"""The demo network (`netzone serve --demo`)."""
