"""Options and error handling shared by the commands (``indexer/cli.py`` and the command that serves the site).

Kept apart from the commands so a command group grows without its module
passing one screenful of options first.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from indexer.corpus.files import CorpusError, ReservedBy
from indexer.index.store import IndexStoreError

__all__ = [
    "CONTEXT", "default_corpus", "default_index", "default_analytics_db", "corpus_option", "index_option",
    "lock_option", "cluster_option", "reserved_by", "semantic_option", "semantic_unless_missing", "explain_failures",
]

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def default_corpus() -> Path:
    return Path(os.environ.get("ARTICLE_SEARCH_CORPUS") or "corpus")


def default_index() -> Path:
    return Path(os.environ.get("ARTICLE_SEARCH_INDEX") or "var/index")


def corpus_option(command: F) -> F:
    return click.option(
        "--corpus", type=click.Path(path_type=Path, file_okay=False), default=default_corpus,
        show_default="$ARTICLE_SEARCH_CORPUS or corpus", help="Folder of *.md articles.",
    )(command)


def index_option(command: F) -> F:
    return click.option(
        "--index", "index_dir", type=click.Path(path_type=Path, file_okay=False), default=default_index,
        show_default="$ARTICLE_SEARCH_INDEX or var/index", help="Index folder.",
    )(command)


def lock_option(command: F) -> F:
    return click.option(
        "--lock-timeout", type=click.FloatRange(0, 3600), default=30.0, show_default=True,
        help="Seconds to wait for another build or update to finish.",
    )(command)


def reserved_by() -> ReservedBy | None:
    """Which urls the site's own routes take, if the program running these commands serves a site.

    ``article-search`` puts the web app's answer in the context object
    (``{"reserved_by": ...}``); ``python -m indexer`` knows no site and checks none.
    """
    context = click.get_current_context(silent=True)
    found = context.find_object(dict) if context is not None else None
    return found.get("reserved_by") if found else None


def semantic_option(command: F) -> F:
    return click.option(
        "--semantic/--no-semantic", default=None,
        help="Rank by meaning as well as words (article vectors from the embedding model, which `make install` "
        "installs), or by words alone. Remembered for later builds and updates. "
        "Default: as last chosen, else by meaning where the model is installed.",
    )(command)


def cluster_option(command: F) -> F:
    return click.option(
        "--cluster", metavar="tcp://HOST:PORT", envvar="ARTICLE_SEARCH_CLUSTER", default=None, show_envvar=True,
        help="Embed the articles on this Dask scheduler's workers (each with the project and the model installed); "
        "the index is still written here.",
    )(command)


def semantic_unless_missing() -> bool:
    """The default for an index never told which ranking to use: by meaning, if this installation can."""
    from indexer.semantic.model import semantic_unavailable

    problem = semantic_unavailable()
    if problem is not None:
        click.echo(f"ranking by words alone: {problem}", err=True)
    return problem is None


def explain_failures(command: F) -> F:
    """Turn the library's errors into one line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (IndexStoreError, CorpusError) as error:
            raise click.ClickException(str(error)) from None
        except BrokenPipeError:  # `article-search search x | head`: the reader left
            sys.stderr.close()
            sys.exit(0)
        except OSError as error:
            raise click.ClickException(f"{error.filename or ''}: {error.strerror}; check the path and permissions") from None

    return wrapper  # type: ignore[return-value]


def default_analytics_db() -> Path:
    from indexer.analytics.store import DEFAULT_DB

    return Path(os.environ.get("ARTICLE_SEARCH_ANALYTICS_DB") or DEFAULT_DB)
