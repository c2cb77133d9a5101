"""The audit trail of every change and every cross-institution search."""
