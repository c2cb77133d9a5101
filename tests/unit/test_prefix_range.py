"""app.sql.prefix_range: every text that starts with a prefix lies in its range, in the
byte order PostgreSQL's pattern operators compare in (UTF-8 bytes)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.sql import prefix_range

LONGEST = 12
# Any character a text can hold (no surrogates: UTF-8 has none), the last ones often.
CHARS = st.one_of(
    st.characters(exclude_categories=("Cs",)),
    st.sampled_from(["\U0010ffff", "\ud7ff", "\ue000", "\x7f", "\x80", "z", "%", "_", "\\"]),
)


def _bytes(text: str) -> bytes:
    return text.encode("utf-8")


@given(st.text(CHARS, min_size=1, max_size=5), st.text(CHARS, max_size=7))
def test_every_continuation_lies_in_the_range(prefix: str, rest: str) -> None:
    low, high = prefix_range(prefix, LONGEST)
    value = prefix + rest
    assert _bytes(low) <= _bytes(value) < _bytes(high)


@given(st.text(CHARS, min_size=1, max_size=5), st.text(CHARS, max_size=12))
def test_what_lies_in_the_range_short_of_high_starts_with_the_prefix_or_sorts_after(
    prefix: str, other: str
) -> None:
    """The range holds no text that sorts before the prefix."""
    low, _ = prefix_range(prefix, LONGEST)
    if not other.startswith(prefix) and _bytes(other) < _bytes(prefix):
        assert _bytes(other) < _bytes(low)


def test_the_successor_skips_surrogates_and_carries_past_the_last_character() -> None:
    assert prefix_range("smi", LONGEST) == ("smi", "smj")
    assert prefix_range("a\ud7ff", LONGEST) == ("a\ud7ff", "a\ue000")
    assert prefix_range("a\U0010ffff", LONGEST) == ("a\U0010ffff", "b")
    assert prefix_range("\U0010ffff\U0010ffff", LONGEST) == (
        "\U0010ffff\U0010ffff",
        "\U0010ffff" * (LONGEST + 1),
    )
