"""Python SDK on httpx (sync and async)."""
