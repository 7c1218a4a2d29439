"""Settings, read once from arguments and `TMF640_*` environment variables into one typed object."""

from __future__ import annotations

from typing import Literal

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
