"""Service configuration: the only place that reads the environment."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./netzone.db"


def normalize_database_url(url: str) -> str:
    """Accept the URL forms operators write and return the async driver form."""
    url = url.strip()
    if url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("postgresql+psycopg2://") or url.startswith("postgresql+psycopg://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


# Words of values that are not secrets: the placeholders shipped in docker-compose.yml
# and documentation, and the development value of earlier versions.
PLACEHOLDER_WORDS = ("placeholder", "change-me", "changeme", "replace-with")


class Settings(BaseSettings):
    """Every tunable of the service, read from NETZONE_* variables (and DATABASE_URL)."""

    # A refused value is never repeated in the error (it may be a secret or a password).
    model_config = SettingsConfigDict(
        env_prefix="NETZONE_", extra="ignore", hide_input_in_errors=True
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default=DEFAULT_SQLITE_URL, validation_alias="DATABASE_URL")
    network_name: str = "Library Network"
    # Dates such as `until` and expiry dates end at midnight in this time zone.
    timezone: str = "UTC"
    host: str = "127.0.0.1"
    port: int = 8000
    graphiql: bool = True
    # GraphiQL's browser files (app/graphiql/assets.lock.json), served by netzone itself:
    # where `netzone fetch-graphiql-assets` keeps them (default ~/.cache/netzone/graphiql),
    # and where it takes the tarballs from instead of npm's cache and registry (a mirror's
    # URL, a directory of tarballs or an npm cache directory).
    graphiql_assets_dir: str | None = None
    graphiql_assets_from: str | None = None

    # Optional: takes the place of the random secret each deployment keeps in its
    # database (app/keys.py), which signs the references of network search results.
    secret_key: str | None = None

    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto netzone believes
    # (comma-separated addresses or networks, e.g. "10.0.0.5,10.1.0.0/16"). Empty (the
    # default): none, so the address that throttles logins is the connection's own.
    trusted_proxies: str = ""

    # Sessions and passwords
    token_ttl_minutes: int = 8 * 60
    password_min_length: int = 8
    lockout_threshold: int = 10
    lockout_minutes: int = 15
    address_failures_per_minute: int = 50
    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 65536
    argon2_parallelism: int = 4

    # Database connections each `serve` process keeps for the requests it answers at once
    # (about the concurrent requests a process sees); up to 10 more are opened under a
    # burst and closed again, at the cost of a new connection per request beyond the pool.
    db_pool_size: int = Field(default=20, ge=1, le=1000)
    # How much `netzone worker` yields the CPU to the API's processes on the same machine
    # (its nice value, 0-19): an import's checks then wait while requests are answered.
    worker_nice: int = Field(default=10, ge=0, le=19)

    # Request limits
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    max_cost: int = 50000
    max_batch: int = 10
    # Seconds a request may run (queries stop between steps, and on PostgreSQL every
    # statement of a request is cancelled past it); imports and jobs have no limit.
    request_timeout: float = Field(default=15.0, gt=0, le=3600)
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 50 * 1024 * 1024
    max_page_size: int = 100
    max_node_ids: int = 100
    cache_size: int = 1000
    # Queries the compiled read path answers (app.graphql.compiled) run from one
    # statement; False sends every query through the general path.
    compiled_reads: bool = True

    # Patron photos
    photo_max_bytes: int = 2 * 1024 * 1024
    photo_max_pixels: int = 4096 * 4096
    # One photo upload (a zip) decodes at most this much in all, dry runs included.
    photo_upload_max_pixels: int = 500_000_000
    photo_upload_max_decoded_bytes: int = 200 * 1024 * 1024

    # Imports: run in the background (False: the mutation waits for the job to finish)
    import_background: bool = True
    import_dir: str | None = None  # where uploaded files wait for their job (default: temp dir)

    # Scheduled jobs: inside `serve` on SQLite, in `netzone worker` on PostgreSQL
    scheduled_jobs: bool = True
    purge_interval_minutes: int = 60
    email_check_interval_minutes: int = 24 * 60
    # The worker's schedules as cron expressions (a sixth field counts seconds); empty:
    # every purge_interval_minutes / email_check_interval_minutes.
    purge_schedule: str = ""
    email_check_schedule: str = ""

    # SIP2 server (`netzone sip2`): loopback unless an operator opens it up
    sip2_host: str = "127.0.0.1"
    sip2_port: int = 6001
    sip2_read_timeout_seconds: float = 10.0  # a started message must be complete by then
    sip2_idle_timeout_seconds: float = 300.0  # a connection with nothing to say is closed
    sip2_max_message_bytes: int = 4096
    sip2_max_connections: int = 200
    sip2_max_connections_per_address: int = 20  # one client cannot take every connection
    sip2_max_connections_per_account: int = 50  # logged in as one SIP account at once
    sip2_login_timeout_seconds: float = 10.0  # a connection that has not logged in is closed
    sip2_max_concurrent_requests: int = 10  # database work at once (the pool's size)
    sip2_max_failed_logins: int = 3  # per connection, then it is closed
    # Sent as BZ and CB; the registry has no hold or loan limits yet (9999: none).
    sip2_hold_items_limit: int = 9999
    sip2_charged_items_limit: int = 9999

    # Logging: "json" lines or "text" (default: json in production, text elsewhere);
    # one line per HTTP request (netzone.access) unless access_log is off.
    log_level: str = "INFO"
    log_format: Literal["json", "text"] | None = None
    access_log: bool = True

    # Prometheus metrics on a port of their own (None: not served), never on the API's:
    # `serve` serves the API's, `sip2` the SIP2 server's.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    sip2_metrics_port: int | None = Field(default=None, ge=0, le=65535)

    @model_validator(mode="after")
    def _normalize(self) -> Settings:
        self.database_url = normalize_database_url(self.database_url)
        if self.log_format is None:
            self.log_format = "json" if self.environment == "production" else "text"
        if self.secret_key is not None and not self.secret_key.strip():
            self.secret_key = None
        if self.secret_key is not None and (
            len(self.secret_key) < 32
            or any(word in self.secret_key.lower() for word in PLACEHOLDER_WORDS)
        ):
            # In every environment: a shared placeholder lets anyone forge references.
            raise ValueError(
                "NETZONE_SECRET_KEY is a placeholder or shorter than 32 characters: set it "
                'to a random value (python3 -c "import secrets; '
                'print(secrets.token_urlsafe(48))"), or unset it to use the secret '
                "this deployment keeps in its database"
            )
        if self.environment == "production":
            if self.database_url.startswith("sqlite"):
                raise ValueError(
                    "NETZONE_ENVIRONMENT=production needs DATABASE_URL to point at PostgreSQL"
                )
            if self.argon2_time_cost < 2 or self.argon2_memory_cost_kib < 19456:
                raise ValueError(
                    "NETZONE_ARGON2_TIME_COST below 2 or NETZONE_ARGON2_MEMORY_COST_KIB below "
                    "19456 (the OWASP minimum) is refused in production"
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
