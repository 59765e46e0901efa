"""The HTTP layer: FastAPI app factory, dependencies, one error mapping, schemas and routes."""
