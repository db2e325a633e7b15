"""What ``article-search insights`` runs: the report over some databases, with an index's neighbours."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import click

from indexer.analytics.report import Nearest, build_report
from indexer.analytics.store import StoreUnreadable
from indexer.analytics.text import report_text

if TYPE_CHECKING:
    from indexer.search.service import SearchService

__all__ = ["insights"]

log = logging.getLogger(__name__)


def insights(databases: Sequence[Path], days: int, index_dir: Path, as_json: bool) -> str:
    """The report as JSON or text; a missing index leaves out the nearest articles, with a note on stderr.

    :raises click.ClickException: a database cannot be read (exit 1, one line).
    """
    nearest, service = _nearest(index_dir)
    try:
        report = build_report(databases, days, nearest)
    except StoreUnreadable as error:
        raise click.ClickException(str(error)) from None
    finally:
        if service is not None:
            service.close()
    return json.dumps(report, ensure_ascii=False, indent=2) if as_json else report_text(report)


def _nearest(index_dir: Path) -> tuple[Nearest | None, "SearchService | None"]:
    from indexer.analytics.nearest import nearest_in
    from indexer.index.store import IndexStore
    from indexer.search.service import SearchService

    if IndexStore(index_dir).pointer() is None:
        click.echo(f"no index at {index_dir}: nearest articles are left out (pass --index)", err=True)
        return None, None
    service = SearchService(index_dir)
    return nearest_in(service), service
