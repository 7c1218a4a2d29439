"""Background workers of one process: the activation runner, the outbox relay, the hub dispatcher."""
