"""Everything the API layers call, assembled once per process and handed to REST and GraphQL alike."""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.drivers import DriverRegistry
from resolvers.engine import Engine, EngineConfig
from resolvers.lifecycle import PROFILES
from resolvers.monitors import Monitors
from resolvers.navigation import Navigation
from resolvers.services import Services
from resolvers.transitions import Transitions
from store.uow import Store


@dataclass
class Resolvers:
    store: Store
    services: Services
    monitors: Monitors
    engine: Engine
    navigation: Navigation
    transitions: Transitions

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
        services = Services(store, profile, max_page, activation)
        return cls(
            store=store,
            services=services,
            navigation=Navigation(store),
            transitions=Transitions(services),
            monitors=Monitors(store, max_page),
            engine=activation,
        )
