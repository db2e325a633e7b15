"""The ``index`` and ``search`` commands: parse options, call the library, print.

The ``article-search`` entry point adds a ``serve`` command to this group.

Exit codes: 0 ok; 1 a failure explained on stderr in one line; 2 a usage error.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import click

from indexer import __version__
from indexer.corpus.articles import ArticleError
from indexer.corpus.files import CorpusError
from indexer.index.store import IndexStore
from indexer.options import (
    CONTEXT,
    cluster_option,
    corpus_option,
    default_analytics_db,
    explain_failures,
    index_option,
    lock_option,
    reserved_by,
    semantic_option,
    semantic_unless_missing,
)
from indexer.semantic.embedding import EmbeddingInterrupted
from indexer.summaries import build_summary, update_summary
from indexer.writing.build import build_index
from indexer.writing.update import UpdateReport, update_index


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="article-search")
def cli() -> None:
    """Search Q&A articles: build the index, keep it current, query it."""


@cli.group()
def index() -> None:
    """Build, update, watch, check and verify the search index."""


@dataclass
class _ProgressBar:
    """A tqdm bar on a terminal, as the build's callbacks; all None when stderr is piped (cron, CI)."""

    update: Callable[[int], None] | None = None
    total: Callable[[int], None] | None = None
    stage: Callable[[str], None] | None = None
    close: Callable[[], None] = lambda: None


def _progress_bar(label: str) -> _ProgressBar:
    if not sys.stderr.isatty():
        return _ProgressBar()
    from tqdm import tqdm

    bar = tqdm(desc=label, unit=" files", file=sys.stderr, leave=False)

    def total(count: int) -> None:
        bar.total = count
        bar.refresh()

    def stage(label: str) -> None:
        bar.set_description(label)  # (the count stays: the stages after embedding have none)

    return _ProgressBar(bar.update, total, stage, bar.close)


def _report_errors(errors: list[ArticleError]) -> None:
    for error in errors:
        click.echo(f"skipped {error}", err=True)


@index.command("build")
@corpus_option
@index_option
@click.option("--workers", type=click.IntRange(1, 16), default=None, help="Writer processes (default: 2 for large corpora).")
@click.option("--strict", is_flag=True, help="Fail, keeping the live index, if any article is bad.")
@semantic_option
@cluster_option
@lock_option
@explain_failures
def build_command(
    corpus: Path, index_dir: Path, workers: int | None, strict: bool, semantic: bool | None, cluster: str | None, lock_timeout: float,
) -> None:
    """Rebuild the whole index into a new generation, then swap it in.

    The live index keeps serving until the new one has committed; a failed or
    killed build leaves it as it was. Bad articles are reported and skipped.
    Article vectors are kept as they are made: a build stopped while embedding
    (Ctrl-C, a kill) continues from them when run again.

    Example: article-search index build --corpus corpus --index var/index
    """
    bar = _progress_bar("indexing")
    try:
        try:
            report = build_index(
                corpus, index_dir, workers=workers, strict=strict, progress=bar.update, on_total=bar.total, on_stage=bar.stage,
                lock_timeout=lock_timeout,
                semantic=semantic, semantic_default=semantic_unless_missing, reserved_by=reserved_by(), cluster=cluster or None,
            )
        finally:
            bar.close()
    except EmbeddingInterrupted as stop:
        click.echo(f"stopped: {stop.kept} of {stop.total} articles' vectors are kept in {stop.folder}; run `article-search "
                   "index build` again to continue from them (the live index is unchanged)", err=True)
        sys.exit(130)
    _report_errors(report.errors)
    click.echo(build_summary(report, index_dir))


@index.command("update")
@corpus_option
@index_option
@click.option("--strict", is_flag=True, help="Change nothing if any article is bad.")
@semantic_option
@lock_option
@explain_failures
def update_command(corpus: Path, index_dir: Path, strict: bool, semantic: bool | None, lock_timeout: float) -> None:
    """Re-index only the articles added, changed or removed since the last run.

    Changes are found by content hash, not by modification time. With no
    index yet, or with --semantic/--no-semantic asking for another ranking
    than the index has, this builds one. An index that ranks by words alone
    stays so until rebuilt: `index build` makes it rank by meaning as well.

    Example: article-search index update --corpus corpus
    """
    bar = _progress_bar("indexing")
    try:
        report = update_index(
            corpus, index_dir, strict=strict, lock_timeout=lock_timeout, progress=bar.update, on_total=bar.total,
            semantic=semantic, semantic_default=semantic_unless_missing, reserved_by=reserved_by(),
        )
    finally:
        bar.close()
    _report_errors(report.errors)
    click.echo(update_summary(report, index_dir))
    if report.rebuilt is None and semantic is None and _could_rank_by_meaning(index_dir):
        click.echo("this index ranks by words alone: run `article-search index build` once to rank by meaning as well", err=True)


def _could_rank_by_meaning(index_dir: Path) -> bool:
    """An index built by words alone that was never told to stay so, where the model is installed."""
    from indexer.semantic.model import semantic_unavailable
    from indexer.writing.build import has_vectors

    return not has_vectors(index_dir) and IndexStore(index_dir).ranking_choice() is None and semantic_unavailable() is None


@index.command("watch")
@corpus_option
@index_option
@click.option("--debounce", type=click.FloatRange(0.05, 60), default=0.5, show_default=True, help="Seconds of quiet before updating.")
@lock_option
@explain_failures
def watch_command(corpus: Path, index_dir: Path, debounce: float, lock_timeout: float) -> None:
    """Keep the index current as article files change (Ctrl-C stops).

    Example: article-search index watch --corpus corpus
    """
    from indexer.writing.watch import watch_corpus

    if not corpus.is_dir():
        raise CorpusError(f"corpus folder {corpus} does not exist: pass --corpus DIR or set ARTICLE_SEARCH_CORPUS")
    click.echo(f"watching {corpus} for changes; Ctrl-C stops", err=True)

    def on_update(report: UpdateReport) -> None:
        _report_errors(report.errors)
        if report.touched or report.rebuilt:
            click.echo(update_summary(report, index_dir))

    def on_error(error: Exception) -> None:
        click.echo(f"update failed: {error}", err=True)

    try:
        watch_corpus(
            corpus, index_dir, on_update=on_update, on_error=on_error, debounce=debounce, lock_timeout=lock_timeout, reserved_by=reserved_by()
        )
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@index.command("check")
@corpus_option
@click.option("--json", "as_json", is_flag=True, help="Print the problems and warnings as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 on content warnings too, not only on bad files.")
@explain_failures
def check_command(corpus: Path, as_json: bool, strict: bool) -> None:
    """Validate every article without indexing; exit 1 if any is bad.

    Each problem is listed with its path, line (where one applies) and what to
    fix. Content warnings (related links to no article, duplicate titles, no
    subject or keywords, short answers, a url under another subject) are
    listed too; they fail the check only with --strict, and never stop a build.

    Example: article-search index check --corpus corpus --json
    """
    from indexer.corpus.checking import check_corpus

    report = check_corpus(corpus, reserved_by())
    if as_json:
        click.echo(json.dumps(report.as_dict(strict), indent=2))
    else:
        for error in report.errors:
            click.echo(str(error))
        for warning in report.warnings:
            click.echo(f"warning: {warning}")
        click.echo(f"{report.articles} good article(s), {len(report.errors)} bad file(s), {len(report.warnings)} content warning(s)", err=True)
    if not report.ok(strict):
        sys.exit(1)


@index.command("verify")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@explain_failures
def verify_command(index_dir: Path, as_json: bool) -> None:
    """Read back every file of the live index; exit 1, one line per damaged file, if any is.

    Checks the table of contents and every segment (terms, postings, stored
    articles, lengths, columns), the article vectors and query encoder against
    the articles, and the SHA-256 of every file where a file list or snapshot
    manifest records them.

    Example: article-search index verify --index var/index
    """
    from indexer.index.verify import verify_index
    from indexer.semantic.checks import semantic_problems

    folder, problems = verify_index(index_dir, [semantic_problems])
    if as_json:
        click.echo(json.dumps({"ok": not problems, "generation": str(folder), "problems": [p.as_dict() for p in problems]}, indent=2))
    else:
        for problem in problems:
            click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} damaged file(s) in {folder}: rebuild with `article-search index build` "
                   "(a replica: publish the snapshot again)", err=True)
        sys.exit(1)
    if not as_json:
        click.echo(f"{folder} is sound", err=True)


@index.command("publish")
@index_option
@click.option("--to", "to", required=True, type=click.Path(path_type=Path, file_okay=False), help="Snapshot folder replicas serve.")
@click.option("--grace", type=click.FloatRange(0, 86400 * 7), default=600.0, show_default=True, help="Seconds to keep replaced snapshots.")
@lock_option
@explain_failures
def publish_command(index_dir: Path, to: Path, grace: float, lock_timeout: float) -> None:
    """Publish the live index as an immutable, verified snapshot for replicas.

    The snapshot folder is named by generation and content hash and carries a
    manifest (document count, corpus hash, build time, schema version, every
    file's SHA-256); CURRENT in the target folder then points at it. Replicas
    run 'article-search serve --index-from DIR' and switch without a restart.

    Example: article-search index publish --to /srv/article-search/snapshots
    """
    from indexer.index.snapshots import publish_index

    snapshot = publish_index(index_dir, to, grace_seconds=grace, lock_timeout=lock_timeout)
    verb = "published" if snapshot.created else "already published"
    click.echo(f"{verb} generation {snapshot.generation} ({snapshot.documents} articles) as {snapshot.path}")


@cli.command("search")
@click.argument("query")
@index_option
@click.option("--limit", type=click.IntRange(1, 50), default=10, show_default=True, help="Results per page.")
@click.option("--page", type=click.IntRange(1, 1000), default=1, show_default=True, help="Page of results.")
@click.option("--subject", default=None, help="Only articles of this subject.")
@click.option("--json", "as_json", is_flag=True, help="Print the /api/search JSON shape.")
@explain_failures
def search_command(query: str, index_dir: Path, limit: int, page: int, subject: str | None, as_json: bool) -> None:
    """Search the index and print ranked results with highlighted snippets.

    Example: article-search search "drug tolerance mechanisms" --limit 5
    """
    from indexer.search.service import (  # here: the index commands do without the searcher
        SearchError,
        SearchService,
    )

    try:
        results = SearchService(index_dir).search(query, page=page, per_page=limit, subject=subject)
    except SearchError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(results.as_dict(), ensure_ascii=False, indent=2))
        return
    styled = sys.stdout.isatty()
    click.echo(f"{results.total} result(s) for {results.query!r} in {results.took_ms:.1f} ms")
    if results.corrected:
        click.echo(f"showing results for: {results.corrected}")
    if results.suggestion:
        click.echo(f"did you mean: {results.suggestion}")
    if results.unmatched:
        click.echo(f"no article contains: {', '.join(results.unmatched)}")
    first = (results.page - 1) * results.per_page
    for rank, hit in enumerate(results.results, start=first + 1):
        click.echo(f"\n{rank}. {_terminal(hit.title_html, styled)}  [{hit.subject}]")
        click.echo(f"   {hit.url}  score {hit.score:.2f}")
        click.echo(f"   {_terminal(hit.snippet_html, styled)}")


@cli.command("insights")
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True, help="Days to report on, today included.")
@click.option(
    "--db", "databases", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
    help="Analytics database; repeat for several replicas. Default: $ARTICLE_SEARCH_ANALYTICS_DB or var/analytics.sqlite3.",
)
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@explain_failures
def insights_command(days: int, databases: tuple[Path, ...], index_dir: Path, as_json: bool) -> None:
    """Report search analytics: searches per day, top queries, content gaps, click-through, slowest.

    Content gaps (queries with no results, or whose results nobody opened) list
    the articles nearest them in meaning, from the index.

    Example: article-search insights --days 7 --db replica-1.sqlite3 --db replica-2.sqlite3
    """
    from indexer.analytics.command import insights  # here: the other commands do without the searcher

    click.echo(insights(list(databases) or [default_analytics_db()], days, index_dir, as_json))


def _terminal(fragment: str, styled: bool) -> str:
    """Show <mark> as bold on a terminal, as [brackets] when piped."""
    import html

    on, off = ("\x1b[1m", "\x1b[0m") if styled else ("[", "]")
    return html.unescape(re.sub(r"</?mark>", lambda m: off if m.group(0).startswith("</") else on, fragment))


def main() -> None:
    """``python -m indexer``: the index and search commands alone (``article-search`` adds ``serve``)."""
    cli(prog_name="python -m indexer")
