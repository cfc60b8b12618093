"""Consumers that turn the event stream into read models."""
