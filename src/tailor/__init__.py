"""Tailor: self-hosted tailored image generation on FIBO, API-compatible with Bria."""

__version__ = "0.1.0"
