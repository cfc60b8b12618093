"""A synthetic corpus for the search benchmark, written as events.

Page texts draw their words from a made-up vocabulary with Zipf-like
frequencies, so a few words are on every page and most are seldom seen. In a
large corpus even the vocabulary's last words are on dozens of pages, so rare
words, each in one to ten documents whatever the size, are planted: words from
beyond the vocabulary, each put in place of a word on one page of the documents
chosen for it. Documents are uploaded and their OCR results recorded through the
event-sourced application, saved in batches; the projectors build the read
models and the index from them.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from command_api.application import Paperledger
from command_api.domain import Document

VOCABULARY = 100_000
ZIPF_EXPONENT = 1.07
SAVE_BATCH = 200
_ONSETS = ("b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v",
           "z", "br", "kr", "st", "tr", "pl")  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou")
# Planted rare words, and the most documents one is planted in.
RARE_WORDS = 200
RARE_MOST_DOCUMENTS = 10


def word(rank: int) -> str:
    """Returns the made-up word of a vocabulary rank: two syllables at least."""
    syllables = []
    n = rank + len(_ONSETS) * len(_VOWELS)
    while n:
        n, digit = divmod(n, len(_ONSETS) * len(_VOWELS))
        onset, vowel = divmod(digit, len(_VOWELS))
        syllables.append(_ONSETS[onset] + _VOWELS[vowel])
    return "".join(syllables) + "x"


@dataclass
class CorpusPlan:
    """How big the corpus is and the random source that makes it repeatable."""

    documents: int
    pages: int = 10
    words_per_page: int = 150
    seed: int = 11
    rng: random.Random = field(init=False)
    vocabulary: list[str] = field(init=False)
    cum_weights: list[float] = field(init=False)
    planted: dict[int, list[str]] = field(init=False)
    written: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 (words, not secrets)
        self.vocabulary = [word(rank) for rank in range(VOCABULARY)]
        weights = (1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(VOCABULARY))
        self.cum_weights = list(itertools.accumulate(weights))
        self.planted = {}
        # At most half of a tiny document's words give way to rare ones.
        room = self.pages * self.words_per_page // 2
        for n in range(RARE_WORDS):
            count = self.rng.randint(1, min(RARE_MOST_DOCUMENTS, self.documents))
            for document in self.rng.sample(range(self.documents), count):
                planted = self.planted.setdefault(document, [])
                if len(planted) < room:
                    planted.append(word(VOCABULARY + n))

    def page_texts(self) -> list[str]:
        """Returns the texts of the next document's pages, its rare words planted."""
        words = self.rng.choices(
            self.vocabulary,
            cum_weights=self.cum_weights,
            k=self.pages * self.words_per_page,
        )
        rares = self.planted.get(self.written, [])
        for rare, place in zip(
            rares, self.rng.sample(range(len(words)), len(rares)), strict=True
        ):
            words[place] = rare
        self.written += 1
        size = self.words_per_page
        return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]

    def common_terms(self) -> list[str]:
        """Returns words on most pages, though not the very most frequent."""
        return self.vocabulary[10:110]

    def rare_terms(self) -> list[str]:
        """Returns the planted words, each in one to ten documents of the corpus."""
        return sorted(self.rare_documents())

    def rare_documents(self) -> Counter[str]:
        """Returns how many documents each rare word is planted in."""
        return Counter(rare for words in self.planted.values() for rare in words)


def write_corpus(
    ledger: Paperledger, owner: UUID, folder: UUID, plan: CorpusPlan
) -> Iterator[int]:
    """Uploads the plan's documents with their OCR results; yields each position."""
    actor = str(owner)
    for start in range(0, plan.documents, SAVE_BATCH):
        count = min(SAVE_BATCH, plan.documents - start)
        batch = [_document(plan, owner, folder, actor, n) for n in range(count)]
        recordings = ledger.save(*batch)
        yield recordings[-1].notification.id


def _document(
    plan: CorpusPlan, owner: UUID, folder: UUID, actor: str, n: int
) -> Document:
    pdf = f"{uuid4().hex}{uuid4().hex}"
    texts = plan.page_texts()
    document = Document(
        id=uuid4(),
        title=" ".join(texts[0].split()[:4]).title(),
        folder_id=folder,
        lang="eng",
        original={
            "sha256": pdf,
            "filename": f"scan-{n}.pdf",
            "content_type": "application/pdf",
            "size": 100_000,
        },
        pdf_sha256=pdf,
        page_count=plan.pages,
        actor=actor,
        owner_id=owner,
    )
    document.complete_ocr(
        pdf_sha256=pdf,
        archive_sha256=pdf,
        lang="eng",
        pages=[{"number": i, "text": t} for i, t in enumerate(texts, start=1)],
        seconds=1.0,
    )
    return document
