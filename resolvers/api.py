"""Everything the API layers call, assembled once per process and handed to REST and GraphQL alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from resolvers.feed import EventFeed
from resolvers.hubs import Hubs
from resolvers.lifecycle import PROFILES
from resolvers.monitors import Monitors
from resolvers.navigation import Navigation
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
    ) -> Resolvers:
        """`bus` is the running event bus (the app's); without one, `feed` replays but cannot go live."""
        services = Services(store, PROFILES[lifecycle], max_page)
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
        )
