"""Errors of the OCR worker, each under one root."""

from __future__ import annotations


class OcrWorkerError(Exception):
    """The root of every error the OCR worker raises."""


class OcrFailedError(OcrWorkerError):
    """Raised when a PDF cannot be OCRed and trying again would not help.

    The message says why in words a person can act on: it becomes the reason of
    the document's failed OCR.
    """


class OcrCrashedError(OcrWorkerError):
    """Raised when OCRmyPDF stops unexpectedly; another attempt may succeed."""


class CommandNotAnsweredError(OcrWorkerError):
    """Raised when the command API does not answer a command in time."""


class CommandRejectedError(OcrWorkerError):
    """Raised when the command API answers a command with an error."""


class MalformedUploadError(OcrWorkerError):
    """Raised when a message on the upload subject is not a Document.Uploaded."""
