"""Text as PostgreSQL stores and searches it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_CONFIGS = {"eng": "english", "deu": "german"}
TEXT_SEARCH_CONFIGS = (*_CONFIGS.values(), "simple")
"""Every configuration ``text_search_config`` returns."""

_LETTERS = re.compile(r"[^\W\d_]+")


def text_search_config(lang: str) -> str:
    """Returns the text-search configuration for a tesseract language code."""
    return _CONFIGS.get(lang.split("+", 1)[0], "simple")


def vocabulary_words(texts: Iterable[str]) -> set[str]:
    """Returns the words of 3 to 40 letters in ``texts``, in lower case."""
    found = {word for text in texts for word in _LETTERS.findall(text)}
    return {word.lower() for word in found if 3 <= len(word) <= 40}


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
