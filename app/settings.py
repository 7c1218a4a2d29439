"""Settings, read once from arguments and `TMF640_*` environment variables into one typed object."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.db import require_driver
from store.errors import MissingDriver


class ApiKeyGrant(BaseModel):
    """What one API key grants: the tenant whose resources it sees and its scopes (docs/security.md)."""

    tenant: str = Field(min_length=1, max_length=255)
    scopes: list[Literal["read", "write", "admin"]] = Field(min_length=1)


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
    graphql_max_tokens: int = Field(10_000, ge=100, description="Most tokens one GraphQL document may hold")
    graphql_max_document_bytes: int = Field(
        32_768, ge=256, description="Largest GraphQL document (the query text) accepted, checked before parsing")
    graphql_introspection: bool | None = Field(
        None, description="Answer __schema/__type; unset: on in development, off in production")
    graphql_max_ws_connections: int = Field(10_000, ge=1, description="GraphQL WebSocket connections at once")
    graphql_max_ws_per_client: int = Field(
        1_000, ge=1, description="GraphQL WebSocket connections at once from one client address")
    graphql_subscribe_rate: float = Field(
        10.0, gt=0, description="subscribe messages a second per connection, after a burst of twice max_subscriptions")
    graphql_refusal_delay: float = Field(
        1.0, ge=0, description="Seconds a refused GraphQL request waits for its answer once its address has been "
        "refused 20 times in quick succession (2 a second allowed after); 0: never")
    graphql_max_subscriptions: int = Field(
        20, ge=1, description="Operations one GraphQL WebSocket connection may run at once (subscriptions)")
    graphql_connection_init_timeout: float = Field(
        10.0, gt=0, description="Seconds a WebSocket client has to send connection_init before it is closed")
    graphql_legacy_ws: bool = Field(False, description="Also accept the legacy graphql-ws subprotocol")
    ws_ping_interval: float = Field(20.0, gt=0, description="WebSocket ping frames to every client (keep-alive)")
    ws_ping_timeout: float = Field(20.0, gt=0, description="A client that answers no ping within this is closed")
    migrate_on_start: bool = True
    log_level: str = "info"
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="Log lines as JSON objects or text; auto: text on a terminal, JSON otherwise")
    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at /metrics")

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
    activation_retry_attempts: int = Field(
        5, ge=0, description="Retries of a transient failure (driver unreachable, unexpected error) before the "
        "activation is held for an operator")
    activation_retry_seconds: float = Field(
        300.0, gt=0, description="Longest time one failure is retried before the activation is held")
    activation_retry_backoff: float = Field(1.0, ge=0, description="First pause between retries; doubles each time")
    activation_retry_backoff_cap: float = Field(60.0, ge=0, description="Longest pause between retries")
    activation_expected_seconds: float = Field(
        0.0, ge=0, description="Work running longer than this is flagged in jeopardy (0: never)")
    activation_expected_seconds_by_spec: dict[str, float] = Field(
        default_factory=dict, description='Expected duration per serviceSpecification id or name of the '
        'request\'s service, JSON: {"vCPE": 120}')
    drivers: dict[str, str] = Field(
        default_factory=lambda: {"*": "simulated"},
        description='Driver per serviceSpecification id or name, JSON: {"*": "simulated", "vCPE": "http"}',
    )
    driver_config: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description='Configuration per driver name, JSON: {"http": {"url": "..."}}'
    )

    # Events (README "Events and the hub"). Durations are in seconds.
    bus_url: str = Field("memory://", description="Event bus: memory:// (one process) or postgresql://")
    bus_queue_size: int = Field(1000, ge=1, description="Events a subscriber may fall behind before it is dropped")
    bus_poll_interval: float = Field(1.0, gt=0, description="Relay safety-net poll of the outbox")
    hub_poll_interval: float = Field(1.0, gt=0, description="Dispatcher safety-net poll")
    hub_retry_base: float = Field(1.0, gt=0, description="First retry delay; doubles per failed attempt")
    hub_retry_cap: float = Field(300.0, gt=0, description="Longest retry delay")
    hub_max_attempts: int = Field(
        0, ge=0, description="Failed attempts on one event before a listener is marked failing; 0: no limit")
    hub_max_age: float = Field(86_400.0, gt=0, description="Seconds one event may keep failing before that")
    hub_failing_retry: float = Field(
        600.0, gt=0, description="A failing listener is tried again this often, and becomes active when it answers")
    hub_signing: Literal["both", "tmf640", "standard"] = Field(
        "both", description="With a secret: X-TMF640-Signature, Standard Webhooks headers, or both")
    hub_timeout: float = Field(10.0, gt=0, description="HTTP timeout of one delivery")
    hub_lease: float = Field(30.0, gt=0, description="Lease on a listener while a process delivers to it")
    hub_batch: int = Field(100, ge=1, description="Outbox rows read per delivery round")
    hub_concurrency: int = Field(16, ge=1, description="Listeners served at once by one process")


    # Retention (docs/operations.md). Seconds; 0 keeps that kind of row for ever.
    retention_outbox: float = Field(
        604_800.0, ge=0, description="Replay window of the outbox; a row stays until every listener passed it")
    retention_deliveries: float = Field(604_800.0, ge=0, description="Hub delivery records")
    retention_revisions: float = Field(
        7_776_000.0, ge=0, description="Service revisions (each service keeps its newest)")
    retention_activations: float = Field(
        2_592_000.0, ge=0, description="Finished activations and their steps")
    retention_monitors: float = Field(2_592_000.0, ge=0, description="Finished Monitors")
    prune_interval: float = Field(300.0, ge=0, description="Seconds between pruning rounds; 0: only `tmf640 prune`")
    prune_batch: int = Field(500, ge=1, description="Rows deleted per short transaction while pruning")
    # Authentication and tenants (docs/security.md)
    api_keys: dict[str, ApiKeyGrant] = Field(
        default_factory=dict,
        description='API keys, JSON: {"<key>": {"tenant": "<tenant>", "scopes": ["read", "write", "admin"]}}')
    jwt_issuer: str | None = Field(None, description="Issuer (`iss`) bearer JWTs must name")
    jwt_audience: str | None = Field(None, description="Audience (`aud`) bearer JWTs must name")
    jwt_jwks_url: str | None = Field(None, description="URL of the identity provider's JWKS (signing keys)")
    jwt_jwks_file: str | None = Field(None, description="Path of a JWKS file, instead of a URL")
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "PS256", "EdDSA"],
                                      description="Signature algorithms accepted on JWTs")
    jwt_leeway: float = Field(60.0, ge=0, description="Clock skew tolerated on exp/nbf/iat, seconds")
    jwt_tenant_claim: str = Field("tenant", description="Claim naming the caller's tenant")
    jwt_scope_claim: str = Field("scope", description="Claim holding scopes (space-separated string or list)")
    jwt_jwks_refresh: float = Field(
        30.0, ge=0, description="Least seconds between two JWKS reloads for a token signed by an unknown key")
    hub_callback_allow: list[str] = Field(
        default_factory=list, description='Networks or host names callbacks may reach although not public, '
        'JSON: ["127.0.0.1/32", "listener.internal"]')
    hub_max_listeners_per_tenant: int = Field(100, ge=1, description="Hub listeners one tenant may register")

    @property
    def authentication_configured(self) -> bool:
        return bool(self.api_keys) or bool(self.jwt_jwks_url or self.jwt_jwks_file)

    @model_validator(mode="after")
    def _authentication(self) -> Settings:
        if (self.jwt_jwks_url or self.jwt_jwks_file) and not (self.jwt_issuer and self.jwt_audience):
            raise ValueError("JWT verification needs TMF640_JWT_ISSUER and TMF640_JWT_AUDIENCE")
        for grant in self.api_keys.values():
            if grant.tenant == "*" and "admin" not in grant.scopes:
                raise ValueError('an API key of every tenant ("*") needs the admin scope')
        return self

    @model_validator(mode="after")
    def _drivers_installed(self) -> Settings:
        """A postgresql:// database or bus without the `postgres` extra fails here, naming the extra."""
        for name, url in (("TMF640_DATABASE_URL", self.database_url), ("TMF640_BUS_URL", self.bus_url)):
            try:
                require_driver(url)
            except MissingDriver as exc:
                raise ValueError(f"{name}: {exc}") from None
        return self

    @property
    def introspection_allowed(self) -> bool:
        """TMF640_GRAPHQL_INTROSPECTION when set, else whether this is a development server."""
        if self.graphql_introspection is not None:
            return self.graphql_introspection
        return self.environment == "development"

    @model_validator(mode="after")
    def _lease_outlasts_timeout(self) -> Settings:
        if self.hub_lease <= self.hub_timeout:
            raise ValueError("TMF640_HUB_LEASE must be longer than TMF640_HUB_TIMEOUT")
        return self
