"""Activation drivers: the interface (base), the built-ins (simulated, http) and the registry."""

from resolvers.activation.drivers.base import Driver, DriverError, Step
from resolvers.activation.drivers.registry import DriverRegistry, UnknownDriver

__all__ = ["Driver", "DriverError", "DriverRegistry", "Step", "UnknownDriver"]
