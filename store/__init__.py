"""Persistence: tables, repositories, migrations, the event outbox, pub/sub backends."""
