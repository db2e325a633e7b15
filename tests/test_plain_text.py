"""plain_text's shortcut: a text with no tab, carriage return, form feed or double space skips the
per-line substitution, and must come out exactly as with it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.corpus import rendering

MARKDOWNISH = st.text(alphabet=st.sampled_from(list("ab *_`~#>-1.\n\t\r\x0b\x0c\xa0&;[]()<>")), max_size=80)


@given(MARKDOWNISH)
def test_the_shortcut_gives_the_same_text(source: str) -> None:
    shortcut = rendering.plain_text(source)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rendering, "_ODD_SPACE", re.compile(""))  # (matches every text: the per-line way)
        assert rendering.plain_text(source) == shortcut
