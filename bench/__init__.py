"""Benchmarks: they print figures and fail no build (DESIGN.md, "Tests")."""
