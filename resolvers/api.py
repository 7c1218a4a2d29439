"""Everything the API layers call, assembled once per process and handed to REST and GraphQL alike."""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.drivers import DriverRegistry
from resolvers.engine import Engine, EngineConfig
from resolvers.lifecycle import PROFILES
from resolvers.monitors import Monitors
from resolvers.services import Services
from store.uow import Store


@dataclass
class Resolvers:
    store: Store
    services: Services
    monitors: Monitors
    engine: Engine

    @classmethod
    def build(
        cls,
        store: Store,
        *,
        lifecycle: str = "strict",
        max_page: int = 1000,
        engine: EngineConfig | None = None,
        drivers: DriverRegistry | None = None,
    ) -> Resolvers:
        """Build the resolvers; the engine's runner is started by the app (`await resolvers.engine.start()`)."""
        profile = PROFILES[lifecycle]
        activation = Engine(store, profile, drivers, engine)
        return cls(
            store=store,
            services=Services(store, profile, max_page, activation),
            monitors=Monitors(store, max_page),
            engine=activation,
        )
