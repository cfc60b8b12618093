"""Errors of the write side; the HTTP edge turns each into one problem response."""

from __future__ import annotations


class CommandError(Exception):
    """Root of every error a command can end in."""


class NotFoundError(CommandError):
    """Raised when the aggregate does not exist or is not the actor's to change."""


class ConflictError(CommandError):
    """Raised when the aggregate's version is not the one the command expected."""


class InvalidCommandError(CommandError):
    """Raised when a command breaks a rule of the domain, such as a duplicate name."""


class UnsupportedFileError(CommandError):
    """Raised when an upload is none of the accepted file types."""


class UnreadableFileError(CommandError):
    """Raised when an upload claims a type but cannot be read as one."""


class FileTooLargeError(CommandError):
    """Raised when an upload exceeds the configured size limit."""
