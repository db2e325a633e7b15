"""The analysers' old address, kept for indexes written before the stage folders.

Whoosh pickles each field's analyser into the index's table of contents by
module and class name. Indexes built before the package was split into
folders name ``indexer.analysis``; without this module a new version could
not open them (``index update``, ``serve``). New indexes name
:mod:`indexer.index.analysis`. Nothing in the package imports this module.
"""

from indexer.index.analysis import FoldingTokenizer, _StripFilter, keyword_analyzer, text_analyzer

__all__ = ["FoldingTokenizer", "_StripFilter", "keyword_analyzer", "text_analyzer"]
