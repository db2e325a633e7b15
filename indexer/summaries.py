"""What ``index build``, ``update`` and ``watch`` print when they are done: counts, not each problem.

Bad files are listed one by one (they were skipped); content warnings are only
counted, with the command that lists them (:mod:`indexer.corpus.lint`).
"""

from __future__ import annotations

from pathlib import Path

from indexer.semantic.embedding import EmbeddingReport
from indexer.writing.build import BuildReport
from indexer.writing.update import UpdateReport

__all__ = ["build_summary", "embedding_line", "update_summary", "warnings_line"]


def warnings_line(count: int, changed_only: bool = False) -> str:
    """The count of content warnings and how to see them; empty when there are none."""
    if not count:
        return ""
    scope = " in the added and changed articles" if changed_only else ""
    return f"{count} content warning(s){scope}: `article-search index check` lists them with their paths and lines"


def build_summary(report: BuildReport, index_dir: Path) -> str:
    """One line of counts and speed, and a second one counting content warnings, if any."""
    skipped = f", skipped {len(report.errors)} bad file(s)" if report.errors else ""
    head = (
        f"indexed {report.indexed} articles{skipped} in {report.seconds:.2f} s "
        f"({report.docs_per_second:.0f} docs/s); {index_dir} is now generation {report.pointer.generation}"
    )
    return "\n".join(filter(None, [head, embedding_line(report.embedding), warnings_line(len(report.warnings))]))


def embedding_line(report: EmbeddingReport | None) -> str:
    """How many articles were embedded, where, and how many vectors were taken instead; empty without ranking by meaning."""
    if report is None:
        return ""
    where = ""
    if report.cluster:
        workers = ", ".join(f"{name} {count}" for name, count in sorted(report.by_worker.items()))
        where = f" on the Dask cluster at {report.cluster}" + (f" ({workers})" if workers else "")
    taken = [f"{report.resumed} from an interrupted build's checkpoint"] if report.resumed else []
    taken += [f"{report.reused} unchanged from the live index"] if report.reused else []
    return f"embedded {report.embedded} articles{where}" + (f"; took {' and '.join(taken)}" if taken else "")


def update_summary(report: UpdateReport, index_dir: Path) -> str:
    """Counts, then each file added (+), changed (~) or removed (-), then the content warnings' count."""
    if report.rebuilt is not None:
        return "no usable index was there, so built one: " + build_summary(report.rebuilt, index_dir)
    lines = [f"  {sign} {path}" for sign, paths in (("+", report.added), ("~", report.changed), ("-", report.removed)) for path in paths]
    if report.curated:
        lines.append("  synonyms and pins: searches use the new ones")
    skipped = f", {len(report.errors)} bad file(s) skipped" if report.errors else ""
    generation = report.pointer.generation if report.pointer else 0
    head = (
        f"added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}{skipped} "
        f"in {report.seconds:.2f} s; generation {generation}"
    )
    return "\n".join(filter(None, [head, *lines, warnings_line(len(report.warnings), changed_only=True)]))
