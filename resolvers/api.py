"""Everything the API layers call, assembled once per process and handed to REST and GraphQL alike."""

from __future__ import annotations

from dataclasses import dataclass

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
    navigation: Navigation
    transitions: Transitions

    @classmethod
    def build(cls, store: Store, *, lifecycle: str = "strict", max_page: int = 1000) -> Resolvers:
        services = Services(store, PROFILES[lifecycle], max_page)
        return cls(
            store=store,
            services=services,
            monitors=Monitors(store, max_page),
            navigation=Navigation(store),
            transitions=Transitions(services),
        )
