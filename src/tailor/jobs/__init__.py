"""Durable jobs: the queue in the metadata store, the registry of kinds, and the context handlers get."""
