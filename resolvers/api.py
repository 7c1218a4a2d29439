"""Everything the API layers call, assembled once per process and handed to REST and GraphQL alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from resolvers.activation.drivers import DriverRegistry
from resolvers.callback_guard import CallbackGuard
from resolvers.context import Authenticate, RequestContext
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
        callbacks: CallbackGuard | None = None,
        max_listeners_per_tenant: int = 100,
    ) -> Resolvers:
        """Build the resolvers once per process.

        `bus` is the running event bus (the app's); without one, `feed` replays but cannot go live. The
        engine's runner is started by the app (`await resolvers.engine.start()`). `callbacks` judges hub
        callback addresses (default: public addresses only).
        """
        profile = PROFILES[lifecycle]
        activation = Engine(store, profile, drivers, engine)
        services = Services(store, profile, max_page, activation)
        navigation = Navigation(store)
        feed = EventFeed(store, bus or Bus(MemoryBackend()))
        return cls(
            store=store,
            services=services,
            monitors=Monitors(store, max_page),
            navigation=navigation,
            transitions=Transitions(services),
            hubs=Hubs(store, hub_wake or (lambda: None), max_page, callbacks or CallbackGuard(),
                      max_listeners_per_tenant),
            feed=feed,
            subscriptions=Subscriptions(store, feed, navigation),
            engine=activation,
        )


EDGE_KEY = "tmf640.edge"


@dataclass(frozen=True)
class RequestEdge:
    """What the request edge (app.edge) hands both APIs for one HTTP request or WebSocket connection.

    `authenticated` is False only for a WebSocket whose credentials come in its `connection_init` payload:
    the GraphQL endpoint then calls `authenticate` with them, and closes the connection 4401 on refusal.
    """

    context: RequestContext
    resolvers: Resolvers
    authenticate: Authenticate
    authenticated: bool = True


def edge_of(state: Mapping[str, Any]) -> RequestEdge:
    """The edge of a request, from its ASGI scope's `state` (set by app.edge before any endpoint runs)."""
    edge = state.get(EDGE_KEY)
    if not isinstance(edge, RequestEdge):
        raise RuntimeError("the request did not pass the request edge (app.edge.RequestEdgeMiddleware)")
    return edge
