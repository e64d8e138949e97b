"""Task accuracy: numeric answer extraction and exact match after normalisation.

Extraction: the number after GSM8K's `#### ` marker when present, else the last number in the
text. Normalisation: numbers lose thousands separators, a leading `$`, trailing zeros after the
point (`18.50` -> `18.5`, `18.0` -> `18`); other answers are lower-cased with whitespace collapsed
and surrounding punctuation removed. Knows nothing about records or models.
"""

from __future__ import annotations

import re
import string
from decimal import Decimal, InvalidOperation

NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
MARKER = "####"


def canonical_number(token: str) -> str | None:
    """'1,234.50' -> '1234.5'; None when `token` is not a number."""
    cleaned = token.strip().replace(",", "").lstrip("$").rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def extract_answer(text: str) -> str | None:
    """The answer a generation gives: after '####' if present, else its last number."""
    if MARKER in text:
        tail = text.rsplit(MARKER, 1)[1]
        found = NUMBER.search(tail.replace("$", ""))
        if found:
            return canonical_number(found.group())
        tail = normalize_text(tail)
        return tail or None
    numbers = NUMBER.findall(text)
    return canonical_number(numbers[-1]) if numbers else None


def gold_answer(answer: str) -> str:
    """The dataset's answer in canonical form (a GSM8K solution keeps only what follows '####')."""
    if MARKER in answer:
        answer = answer.rsplit(MARKER, 1)[1]
    number = canonical_number(answer)
    return number if number is not None else normalize_text(answer)


def normalize_text(text: str) -> str:
    """Lower-case, collapse whitespace, strip surrounding punctuation."""
    return " ".join(text.lower().split()).strip(string.punctuation + " ")


def is_correct(generation: str, answer: str) -> tuple[bool, bool]:
    """(correct, extracted): exact match of the extracted and the gold answer."""
    predicted = extract_answer(generation)
    if predicted is None:
        return False, False
    return predicted == gold_answer(answer), True
