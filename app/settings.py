"""Settings, read once from arguments and `TMF640_*` environment variables into one typed object."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TMF640_", extra="ignore")

    database_url: str = Field("sqlite+aiosqlite:///./tmf640.db", description="SQLAlchemy async URL")
    host: str = "127.0.0.1"
    port: int = 8640
    public_base_url: str | None = Field(None, description="Base of every href; default: the request's own")
    lifecycle: Literal["strict", "permissive"] = "strict"
    max_page_size: int = Field(1000, ge=1, description="Largest page a list returns")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body accepted")
    environment: Literal["development", "production"] = "development"
    graphql_max_depth: int = Field(15, ge=1, description="Deepest GraphQL operation accepted (fields nested)")
    graphql_max_aliases: int = Field(50, ge=0, description="Most aliases one GraphQL document may use")
    graphql_max_tokens: int = Field(20_000, ge=100, description="Most tokens one GraphQL document may hold")
    migrate_on_start: bool = True
    log_level: str = "info"

    # Activation engine (README, "Activation")
    sync_wait_seconds: float = Field(
        10.0, ge=0, description="How long a write without `Prefer: respond-async` waits for its work"
    )
    activation_policy: Literal["atomic", "partial"] = Field("atomic", description="Default bundle policy")
    activation_concurrency: int = Field(8, ge=1, description="Steps of one activation running at once")
    runner_enabled: bool = Field(True, description="Run activations in this process")
    runner_max_activations: int = Field(16, ge=1, description="Activations this process runs at once")
    activation_lease_seconds: float = Field(15.0, gt=0, description="Lease on claimed work; a dead server's "
                                            "work resumes elsewhere after this")
    runner_poll_seconds: float = Field(1.0, gt=0, description="How often to look for work from other servers")
    drivers: dict[str, str] = Field(
        default_factory=lambda: {"*": "simulated"},
        description='Driver per serviceSpecification id or name, JSON: {"*": "simulated", "vCPE": "http"}',
    )
    driver_config: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description='Configuration per driver name, JSON: {"http": {"url": "..."}}'
    )
