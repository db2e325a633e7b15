"""The ``article-search`` command: the indexer's commands, and ``serve``.

It lives here because only the web app may import both sides. Flask is
imported only when ``serve`` runs, so ``index update`` starts as fast as
``python -m indexer index update``.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from indexer import __version__
from indexer.cli import CONTEXT, corpus_option, explain_failures, index_option
from indexer.cli import cli as indexer_cli

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
    from webapp.server import ServeError, serve

    if index_from is not None:
        index_dir = index_from
    try:
        serve(host=host, port=port, workers=workers, index_dir=index_dir, corpus_dir=corpus)
    except ServeError as error:
        raise click.ClickException(str(error)) from None


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="article-search")
@click.pass_context
def cli(context: click.Context) -> None:
    """Search Q&A articles: build the index, keep it current, query it, serve it."""
    # Articles at urls the site's own routes answer would be hidden: the indexer refuses them.
    context.ensure_object(dict)["reserved_by"] = _reserved_by


def _reserved_by(url: str) -> str | None:
    from webapp.routes import (
        reserved_by,  # Flask is loaded only once an article is read
    )

    return reserved_by(url)


for _name, _command in indexer_cli.commands.items():
    cli.add_command(_command, _name)
cli.add_command(serve_command)


def main() -> None:
    cli(prog_name="article-search")
