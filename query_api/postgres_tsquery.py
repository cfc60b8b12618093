"""Compiles a search expression into one ``tsquery`` per text-search configuration.

PostgreSQL analyses every atom of the expression once per configuration (its
stems, and the words typo tolerance and prefixes widen it to); this module joins
those analysed fragments with ``&``, ``|`` and ``!`` as the expression says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from query_api.search_syntax import Atom, Phrase, SearchExpression

MIN_FUZZY_CHARS = 4
# The steps of read_model.rank_step, best first, and where a lexeme occurs at best.
RANK_STEPS = (32, 28, 24, 20, 16, 14, 12, 10, 8, 7, 6, 5, 4, 3, 2, 1)
RANK_PLACES = ("a", "b", "c")
# Ranking reads the keys of this many lexemes of a query at most.
MAX_RANKED_LEXEMES = 32
# A quoted lexeme of a tsquery's text, and whether it is a prefix.
_LEXEME = re.compile(r"'((?:[^'\\]|''|\\.)*)'(:\*)?")


@dataclass(frozen=True)
class AtomRequest:
    """What PostgreSQL analyses for one atom: its kind, its text and its widening."""

    kind: str  # term, prefix or phrase
    text: str
    fuzzy: bool
    started: str | None  # the letters a vocabulary word must start with


@dataclass(frozen=True)
class Fragments:
    """The analysed tsquery text of one atom in one configuration, and its widening."""

    own: str
    widened: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompiledQuery:
    """The tsquery that matches documents, and the one that finds pages to show."""

    match: str
    positive: str


def atom_requests(expression: SearchExpression) -> list[tuple[Atom, AtomRequest]]:
    """Returns every atom of ``expression`` once, with what to analyse for it."""
    positive = expression.positive
    atoms = dict.fromkeys((*positive, *expression.excluded))
    return [(atom, _request(atom, atom in positive)) for atom in atoms]


def _request(atom: Atom, positive: bool) -> AtomRequest:
    if isinstance(atom, Phrase):
        return AtomRequest("phrase", atom.text, fuzzy=False, started=None)
    word = atom.word.lower()
    if atom.prefix:
        letters = word if word.isalpha() else None
        return AtomRequest("prefix", _quoted(atom.word), fuzzy=False, started=letters)
    fuzzy = positive and word.isalpha() and len(word) >= MIN_FUZZY_CHARS
    return AtomRequest("term", word if fuzzy else atom.word, fuzzy, started=None)


def _quoted(word: str) -> str:
    """Returns ``word`` as one quoted operand of ``to_tsquery``."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def compile_query(
    expression: SearchExpression, fragments: dict[Atom, Fragments]
) -> CompiledQuery | None:
    """Returns the tsqueries of one configuration, or None if it can match nothing.

    An atom whose words are all stop words of the configuration is left out, and
    so is a group made only of such atoms, as web search does.
    """
    groups = [
        alternatives
        for group in expression.required
        if (alternatives := _any(fragments[atom] for atom in group))
    ]
    if not groups:
        return None
    excluded = [
        f"!{alternatives}"
        for atom in expression.excluded
        if (alternatives := _any((fragments[atom],)))
    ]
    positive = _any(fragments[atom] for atom in expression.positive)
    return CompiledQuery(" & ".join([*groups, *excluded]), positive)


def _any(fragments: Iterable[Fragments]) -> str:
    parts = [
        f"( {text} )"
        for fragment in fragments
        for text in (fragment.own, *fragment.widened)
        if text
    ]
    return f"( {' | '.join(dict.fromkeys(parts))} )" if parts else ""


def rank_tiers(queries: Iterable[str]) -> list[str]:
    """Returns tsqueries of ``read_model.rank_keys``, one per tier, best first.

    The first finds the documents whose title has the most occurrences of a
    lexeme of ``queries``; each next tier has fewer, down to lexemes that occur
    twice on pages. Prefixes have no keys; the words they are widened to do.
    """
    lexemes = dict.fromkeys(
        match.group(1)
        for query in queries
        for match in _LEXEME.finditer(query)
        if not match.group(2)
    )
    ranked = list(lexemes)[:MAX_RANKED_LEXEMES]
    if not ranked:
        return []
    return [
        " | ".join(f"'{lexeme} {place}{step}'" for lexeme in ranked)
        for place in RANK_PLACES
        for step in RANK_STEPS
        if place != "c" or step > 1
    ]
