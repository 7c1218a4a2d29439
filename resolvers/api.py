"""Everything the API layers call, assembled once per process and handed to REST and GraphQL alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from resolvers.activation.drivers import DriverRegistry
from resolvers.engine import Engine, EngineConfig
from resolvers.feed import EventFeed
from resolvers.hubs import Hubs
from resolvers.monitors import Monitors
from resolvers.navigation import Navigation
from resolvers.rules.lifecycle import PROFILES
from resolvers.services import Services
from resolvers.subscriptions import Subscriptions
from resolvers.transitions import Transitions
from store.bus import Bus, MemoryBackend
from store.uow import Store


@dataclass
class Resolvers:
    store: Store
    services: Services
    monitors: Monitors
    engine: Engine
    navigation: Navigation
    transitions: Transitions
    hubs: Hubs
    feed: EventFeed
    subscriptions: Subscriptions

    @classmethod
    def build(
        cls,
        store: Store,
        *,
        lifecycle: str = "strict",
        max_page: int = 1000,
        bus: Bus | None = None,
        hub_wake: Callable[[], None] | None = None,
        engine: EngineConfig | None = None,
        drivers: DriverRegistry | None = None,
    ) -> Resolvers:
        """Build the resolvers once per process.

        `bus` is the running event bus (the app's); without one, `feed` replays but cannot go live. The
        engine's runner is started by the app (`await resolvers.engine.start()`).
        """
        profile = PROFILES[lifecycle]
        activation = Engine(store, profile, drivers, engine)
        services = Services(store, profile, activation, max_page)
        navigation = Navigation(store)
        feed = EventFeed(store, bus or Bus(MemoryBackend()))
        return cls(
            store=store,
            services=services,
            monitors=Monitors(store, max_page),
            navigation=navigation,
            transitions=Transitions(services),
            hubs=Hubs(store, hub_wake or (lambda: None), max_page),
            feed=feed,
            subscriptions=Subscriptions(store, feed, navigation),
            engine=activation,
        )
