"""Assembly: settings, the ASGI app factory, lifespan, CLI and background runners."""
