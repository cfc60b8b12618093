"""Errors of the notifier, all under one root."""

from __future__ import annotations


class NotifierError(Exception):
    """Root of every error the notifier raises."""


class ClientTooSlowError(NotifierError):
    """Raised when a connection's outbox overflowed because its client lags behind."""


class ReplayError(NotifierError):
    """Raised when the events missed by a reconnecting client cannot be read back."""
