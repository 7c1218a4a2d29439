"""Which driver handles which service: `TMF640_DRIVERS` maps a specification id or name to a driver name.

    TMF640_DRIVERS='{"*": "simulated", "vCPE": "http", "urn:spec:42": "acme"}'

The key `"*"` is the default (`simulated` when absent). A name is looked up among the built-ins (`simulated`,
`http`) and then among the entry points of the group `tmf640.drivers`, which a third-party package declares
in its own metadata:

    [project.entry-points."tmf640.drivers"]
    acme = "acme_tmf640.driver:AcmeDriver.from_config"

The entry point is a factory called once with that driver's configuration (`TMF640_DRIVER_CONFIG[name]`,
a JSON object) and returns an object with `execute`/`compensate` (resolvers.activation.drivers.base). Every driver named
in the mapping is built at start-up, so a misconfiguration stops the server instead of failing steps later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

from resolvers.activation.drivers.base import Driver
from resolvers.activation.drivers.simulated import SimulatedDriver

ENTRY_POINT_GROUP = "tmf640.drivers"
DEFAULT_KEY = "*"
Factory = Callable[[Mapping[str, Any]], Any]
def _http_driver(config: Mapping[str, Any]) -> Driver:
    from resolvers.activation.drivers.http import HttpDriver  # httpx is loaded only when a driver uses it

    return HttpDriver.from_config(config)


BUILTIN: dict[str, Factory] = {"simulated": SimulatedDriver.from_config, "http": _http_driver}


class UnknownDriver(LookupError):
    pass


def find_factory(name: str) -> Factory:
    if name in BUILTIN:
        return BUILTIN[name]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            factory: Factory = ep.load()
            return factory
    raise UnknownDriver(
        f"no activation driver named {name!r}: built in are {', '.join(sorted(BUILTIN))}; others come from "
        f"the entry point group {ENTRY_POINT_GROUP!r}"
    )


class DriverRegistry:
    """Drivers by name, built once; `for_service` picks one by the service's specification."""

    def __init__(
        self, mapping: Mapping[str, str] | None = None, config: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.mapping = dict(mapping or {})
        self.default = self.mapping.pop(DEFAULT_KEY, "simulated")
        self.config = {k: dict(v) for k, v in (config or {}).items()}
        self._drivers: dict[str, Driver] = {}
        for name in {self.default, *self.mapping.values()}:
            self.get(name)

    def get(self, name: str) -> Driver:
        """The driver called `name` (built on first use)."""
        if name not in self._drivers:
            driver = find_factory(name)(self.config.get(name, {}))
            if not isinstance(driver, Driver):
                raise TypeError(f"the factory of driver {name!r} returned {driver!r}, which has no execute/compensate")
            self._drivers[name] = driver
        return self._drivers[name]

    def name_for(self, service: Mapping[str, Any]) -> str:
        spec = service.get("serviceSpecification")
        if isinstance(spec, Mapping):
            for key in (spec.get("id"), spec.get("name")):
                if key is not None and str(key) in self.mapping:
                    return self.mapping[str(key)]
        return self.default

    def for_service(self, service: Mapping[str, Any]) -> Driver:
        return self.get(self.name_for(service))

    async def aclose(self) -> None:
        for driver in self._drivers.values():
            close = getattr(driver, "aclose", None)
            if close is not None:
                await close()
