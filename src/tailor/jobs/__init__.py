"""Durable jobs: the queue in the metadata store, handlers by kind, workers that run them."""
