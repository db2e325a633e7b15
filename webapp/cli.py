"""``article-search serve``; the command group (``indexer.cli``) loads it only when it is run."""

from __future__ import annotations

import os
from pathlib import Path

import click

from indexer.cli import cli, corpus_option, explain_failures, index_option

__all__ = ["cli", "main", "serve_command"]


@click.command("serve")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="$HOST or 127.0.0.1", help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=lambda: int(os.environ.get("PORT", "8000")), show_default="$PORT or 8000", help="Port to listen on.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Gunicorn worker processes.")
@index_option
@click.option(
    "--index-from", type=click.Path(path_type=Path, file_okay=False), default=lambda: os.environ.get("ARTICLE_SEARCH_INDEX_FROM") or None,
    show_default="$ARTICLE_SEARCH_INDEX_FROM", help="Serve the newest published snapshot in this folder (see 'index publish') instead of --index.",
)
@corpus_option
@explain_failures
def serve_command(host: str, port: int, workers: int, index_dir: Path, index_from: Path | None, corpus: Path) -> None:
    """Serve the web app and JSON API with gunicorn (a production WSGI server).

    With --index-from, serve published snapshots: each is verified against its
    manifest before a worker switches to it, without a restart.

    Example: article-search serve --port 8000 --workers 2
    """
    from .server import ServeError, serve

    if index_from is not None:
        index_dir = index_from
    try:
        serve(host=host, port=port, workers=workers, index_dir=index_dir, corpus_dir=corpus)
    except ServeError as error:
        raise click.ClickException(str(error)) from None


def main() -> None:
    cli(prog_name="article-search")
