"""Entities, enums, state machines and rules. Imports no framework."""
