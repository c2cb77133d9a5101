"""`netzone worker`: runs the queued jobs and the scheduled ones on PostgreSQL (pgqueuer)."""
