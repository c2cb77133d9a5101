"""The service's notion of today: dates like `until` and expiry end at local midnight."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.settings import get_settings


def today() -> date:
    """Today in the network's time zone (setting NETZONE_TIMEZONE)."""
    return datetime.now(ZoneInfo(get_settings().timezone)).date()
