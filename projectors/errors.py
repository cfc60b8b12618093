"""The errors of the projectors, under one root."""

from __future__ import annotations


class ProjectionError(Exception):
    """Raised when an event cannot be applied to a read model."""


class EventOutOfPlaceError(ProjectionError):
    """Raised when an event names a document that its history does not allow."""


class SinkUnavailableError(ProjectionError):
    """Raised when a read model's store cannot take a batch now; it is retried."""
