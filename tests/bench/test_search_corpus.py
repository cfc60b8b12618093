from __future__ import annotations

from collections import Counter

from bench.search_corpus import RARE_MOST_DOCUMENTS, RARE_WORDS, CorpusPlan


def _documents(plan: CorpusPlan) -> list[set[str]]:
    return [
        {word for page in plan.page_texts() for word in page.split()}
        for _ in range(plan.documents)
    ]


def test_rare_words_are_planted_in_one_to_ten_documents_outside_the_vocabulary() -> (
    None
):
    plan = CorpusPlan(documents=100, pages=2, words_per_page=30)
    documents = _documents(plan)
    rare = plan.rare_terms()
    found = Counter(word for words in documents for word in words if word in rare)

    assert len(rare) == RARE_WORDS
    assert not set(rare) & set(plan.vocabulary)
    assert found == plan.rare_documents()
    assert set(found) == set(rare)
    assert all(1 <= n <= RARE_MOST_DOCUMENTS for n in found.values())


def test_the_same_plan_writes_the_same_texts() -> None:
    first, second = (CorpusPlan(documents=5, pages=2, words_per_page=20) for _ in "ab")
    texts = [first.page_texts() for _ in range(5)]

    assert texts == [second.page_texts() for _ in range(5)]
    assert first.rare_terms() == second.rare_terms()
    assert all(
        sum(rare in " ".join(pages).split() for pages in texts) == n
        for rare, n in first.rare_documents().items()
    )
