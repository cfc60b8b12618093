"""The query language of search, parsed into an expression every adapter compiles.

The language is that of web search:

- words separated by spaces must all occur in a document (implicit AND);
- ``OR`` in capitals between two words, phrases or prefixes lets either match,
  and binds tighter than the implicit AND: ``invoice OR bill acme`` is
  (invoice or bill) and acme;
- ``"quoted words"`` must stand next to each other in that order, and a quoted
  word is matched without typo tolerance;
- ``word*`` matches every word that begins with ``word`` (two characters at least);
- ``-word``, ``-word*`` and ``-"quoted words"`` exclude documents that contain them;
- parentheses are ignored: they neither group nor count as text;
- everything else is literal text: quotes, backslashes, colons, ``&``, ``|``,
  ``!``, ``~``, ``^``, braces... carry no meaning for any engine; a word that has
  no letter or digit is dropped.

A query has at most 1,000 characters and 32 words, phrases and prefixes. A query
with nothing left to search for, or that only excludes, is a ``SearchSyntaxError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from query_api.search import SearchError

MAX_QUERY_CHARS = 1000
MAX_ATOMS = 32
MIN_PREFIX_CHARS = 2

_TOKEN = re.compile(r'(-?)(?:"([^"]*)"?|([^\s"]+))')
_IGNORED = str.maketrans("()", "  ")


class SearchSyntaxError(SearchError):
    """Raised when a query is too long or has nothing to search for."""


@dataclass(frozen=True)
class Term:
    """A word matched by its stem, or by its beginning when ``prefix``."""

    word: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """Words that must occur next to each other, in this order."""

    text: str


Atom = Term | Phrase


@dataclass(frozen=True)
class SearchExpression:
    """Every group of ``required`` matches by one of its atoms; no ``excluded`` does."""

    required: tuple[tuple[Atom, ...], ...]
    excluded: tuple[Atom, ...] = ()

    @property
    def positive(self) -> tuple[Atom, ...]:
        """Returns the required atoms once each, in the order they were written."""
        return tuple(dict.fromkeys(atom for group in self.required for atom in group))


@dataclass(frozen=True)
class _Token:
    atom: Atom | None  # None stands for the OR keyword
    negated: bool = False


def parse(text: str) -> SearchExpression:
    """Returns the expression ``text`` stands for, or raises ``SearchSyntaxError``."""
    if len(text) > MAX_QUERY_CHARS:
        raise SearchSyntaxError(
            f"The query is longer than {MAX_QUERY_CHARS} characters."
        )
    tokens = _tokens(text.replace("\x00", " ").translate(_IGNORED))
    if sum(token.atom is not None for token in tokens) > MAX_ATOMS:
        raise SearchSyntaxError(f"The query has more than {MAX_ATOMS} terms.")
    required, excluded = _combine(tokens)
    if not required:
        detail = "only excludes" if excluded else "has no word to search for"
        raise SearchSyntaxError(f"The query {detail}; add a word to find.")
    return SearchExpression(tuple(required), tuple(dict.fromkeys(excluded)))


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        minus, quoted, bare = match.groups()
        if quoted is None and bare == "OR" and not minus:
            tokens.append(_Token(None))
            continue
        atom = _phrase(quoted) if quoted is not None else _term(bare)
        if atom is not None:
            tokens.append(_Token(atom, negated=bool(minus)))
    return tokens


def _phrase(quoted: str) -> Phrase | None:
    words = quoted.split()
    return Phrase(" ".join(words)) if _searchable(quoted) else None


def _term(bare: str) -> Term | None:
    if not _searchable(bare):
        return None
    stem = bare.rstrip("*")
    if stem != bare and sum(map(str.isalnum, stem)) >= MIN_PREFIX_CHARS:
        return Term(stem, prefix=True)
    return Term(bare)


def _searchable(text: str) -> bool:
    return any(char.isalnum() for char in text)


def _combine(tokens: list[_Token]) -> tuple[list[tuple[Atom, ...]], list[Atom]]:
    """Groups positive atoms joined by OR; an OR not between two of them is dropped."""
    required: list[list[Atom]] = []
    excluded: list[Atom] = []
    joining = after_positive = False
    for token in tokens:
        if token.atom is None:
            joining = after_positive
        elif token.negated:
            excluded.append(token.atom)
            joining = after_positive = False
        else:
            if joining:
                required[-1].append(token.atom)
            else:
                required.append([token.atom])
            joining, after_positive = False, True
    return [tuple(dict.fromkeys(group)) for group in required], excluded
