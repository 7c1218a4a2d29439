"""Everything the API layers call, assembled once per process and handed to REST and GraphQL alike."""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.lifecycle import PROFILES
from resolvers.monitors import Monitors
from resolvers.services import Services
from store.uow import Store


@dataclass
class Resolvers:
    store: Store
    services: Services
    monitors: Monitors

    @classmethod
    def build(cls, store: Store, *, lifecycle: str = "strict", max_page: int = 1000) -> Resolvers:
        return cls(
            store=store,
            services=Services(store, PROFILES[lifecycle], max_page),
            monitors=Monitors(store, max_page),
        )
