"""What operators see of a running netzone: Prometheus metrics, request ids, JSON logs.

Below every other layer but the settings: any part of the service may count or log
through it, and it knows nothing of the domains.
"""
