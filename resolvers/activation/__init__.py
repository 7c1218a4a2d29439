"""The activation engine: intake of writes, the to-be, execution, progress, drivers."""
