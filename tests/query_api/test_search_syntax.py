from __future__ import annotations

import pytest

from query_api.search_syntax import (
    MAX_ATOMS,
    Phrase,
    SearchExpression,
    SearchSyntaxError,
    Term,
    parse,
)


def test_words_are_all_required() -> None:
    assert parse("quick  brown\tfox") == SearchExpression(
        ((Term("quick"),), (Term("brown"),), (Term("fox"),))
    )


def test_or_in_capitals_joins_its_neighbours_and_binds_tighter_than_and() -> None:
    assert parse("invoice OR bill acme") == SearchExpression(
        ((Term("invoice"), Term("bill")), (Term("acme"),))
    )
    assert parse("a OR b OR c") == SearchExpression(
        ((Term("a"), Term("b"), Term("c")),)
    )


def test_or_in_small_letters_is_a_word() -> None:
    assert parse("this or that").required == (
        (Term("this"),),
        (Term("or"),),
        (Term("that"),),
    )


@pytest.mark.parametrize(
    "text", ["OR fox", "fox OR", "fox OR OR", "-dog OR fox", "OR OR fox"]
)
def test_an_or_without_a_positive_word_on_each_side_is_dropped(text: str) -> None:
    assert parse(text).required == ((Term("fox"),),)


def test_quoted_words_are_a_phrase_with_its_spaces_normalised() -> None:
    assert parse('"brown   fox" OR "lazy dog" jumps') == SearchExpression(
        ((Phrase("brown fox"), Phrase("lazy dog")), (Term("jumps"),))
    )


def test_an_unterminated_quote_runs_to_the_end() -> None:
    assert parse('pay "due in thirty').required == (
        (Term("pay"),),
        (Phrase("due in thirty"),),
    )


def test_a_trailing_star_makes_a_prefix_of_two_characters_at_least() -> None:
    assert parse("invo* a* x**").required == (
        (Term("invo", prefix=True),),
        (Term("a*"),),
        (Term("x**"),),
    )
    assert parse("in*voice").required == ((Term("in*voice"),),)


def test_a_leading_minus_excludes_words_prefixes_and_phrases() -> None:
    assert parse('fox -dog -lazy* -"brown bear"') == SearchExpression(
        ((Term("fox"),),),
        (Term("dog"), Term("lazy", prefix=True), Phrase("brown bear")),
    )


def test_a_minus_inside_a_word_is_part_of_it() -> None:
    assert parse("e-mail -").required == ((Term("e-mail"),),)


def test_parentheses_are_ignored() -> None:
    assert parse("(invoice OR bill) (acme)") == parse("invoice OR bill acme")


@pytest.mark.parametrize(
    "word",
    ["o'brien", "c:\\temp", "a&b", "x|y", "wow!", "~fuzzy^2", "{json}", "1<2", ":*"],
)
def test_meta_characters_of_engines_are_literal(word: str) -> None:
    expression = parse(f"fox {word}")

    assert expression.required[0] == (Term("fox"),)
    assert expression.required[1:] in ((), ((Term(word),),))


def test_words_without_letters_or_digits_are_dropped() -> None:
    assert parse("Tom & Jerry !!! --").required == ((Term("Tom"),), (Term("Jerry"),))


def test_repeated_atoms_count_once() -> None:
    expression = parse("fox fox OR fox -dog -dog")

    assert expression.positive == (Term("fox"),)
    assert expression.excluded == (Term("dog"),)


@pytest.mark.parametrize(
    "text", ["", "   ", "()", "!!! & | :*", "\\", "\x00", '""', "OR", "-", "(((("]
)
def test_a_query_with_nothing_to_search_for_is_refused(text: str) -> None:
    with pytest.raises(SearchSyntaxError, match="no word to search for"):
        parse(text)


@pytest.mark.parametrize("text", ["-fox", '-fox -"lazy dog"', "-fox OR -dog"])
def test_a_query_that_only_excludes_is_refused(text: str) -> None:
    with pytest.raises(SearchSyntaxError, match="only excludes"):
        parse(text)


def test_a_query_is_at_most_1000_characters() -> None:
    assert parse("a" * 1000).required == ((Term("a" * 1000),),)
    with pytest.raises(SearchSyntaxError, match="longer than 1000"):
        parse("a" * 1001)


def test_a_query_has_at_most_32_terms() -> None:
    assert len(parse(" ".join(["fox"] * MAX_ATOMS)).positive) == 1
    with pytest.raises(SearchSyntaxError, match="more than 32 terms"):
        parse(" ".join(["fox"] * (MAX_ATOMS + 1)))
