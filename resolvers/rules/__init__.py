"""Domain rules in plain Python: no framework, no SQL."""
