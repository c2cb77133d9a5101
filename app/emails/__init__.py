"""Blacklisted and invalid patron email addresses: bounces, the daily check, alerts."""
