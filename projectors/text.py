"""Text as PostgreSQL stores and searches it."""

from __future__ import annotations

from typing import Any

_CONFIGS = {"eng": "english", "deu": "german"}


def text_search_config(lang: str) -> str:
    """Returns the text-search configuration for a tesseract language code."""
    return _CONFIGS.get(lang.split("+", 1)[0], "simple")


def clean(text: str) -> str:
    """Returns ``text`` without NUL characters, which PostgreSQL text cannot hold."""
    return text.replace("\x00", "")


def clean_json(value: Any) -> Any:
    """Returns a JSON value with every string in it cleaned."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value
