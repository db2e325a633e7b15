"""The command line: help for every command, output, and the documented exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from webapp.cli import cli

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    context = click.Context(group)
    for name in group.list_commands(context):  # as --help lists them, so lazily loaded ones count
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            found += all_commands(command, prefix + (name,))
        else:
            found.append(prefix + (name,))
    return found


COMMANDS = all_commands(cli)


def test_contract_commands_exist() -> None:
    assert {("index", "build"), ("index", "update"), ("index", "watch"), ("index", "check"), ("search",), ("serve",)} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_every_command_has_help(runner: CliRunner, command: tuple[str, ...]) -> None:
    result = runner.invoke(cli, [*command, "-h"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    leaf = command and not isinstance(cli.get_command(click.Context(cli), command[0]), click.Group) or len(command) == 2
    if leaf:
        assert "Example:" in result.output


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and "article-search, version" in result.output


def test_build_then_search(runner: CliRunner, corpus_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    built = runner.invoke(cli, ["index", "build", "--corpus", str(corpus_dir), "--index", str(index)])
    assert built.exit_code == 0, built.output
    count = len(list(corpus_dir.rglob("*.md")))
    assert built.output.startswith(f"indexed {count} articles in ")
    assert "generation 1" in built.output
    found = runner.invoke(cli, ["search", "drug tolerance mechanisms", "--index", str(index), "--limit", "3"])
    assert found.exit_code == 0
    assert TOLERANCE_URL in found.output.splitlines()[3]
    assert "[tolerance]" in found.output.lower()


def test_search_json_has_the_api_shape(runner: CliRunner, sample_index: Path) -> None:
    result = runner.invoke(cli, ["search", "drug tolerance", "--index", str(sample_index), "--json"])
    data = json.loads(result.output)
    assert set(data) >= {"ok", "query", "total", "page", "per_page", "took_ms", "suggestion", "facets", "results"}
    assert data["ok"] is True and data["results"][0]["url"] == TOLERANCE_URL
    assert set(data["results"][0]) >= {"id", "title", "title_html", "url", "subject", "snippet_html", "score", "date"}


def test_env_vars_are_the_defaults(runner: CliRunner, sample_index: Path) -> None:
    result = runner.invoke(cli, ["search", "tolerance", "--json"], env={"ARTICLE_SEARCH_INDEX": str(sample_index)})
    assert result.exit_code == 0 and json.loads(result.output)["total"] > 0


def test_bad_article_is_skipped_and_counted(runner: CliRunner, corpus_dir: Path, tmp_path: Path) -> None:
    (corpus_dir / "broken.md").write_text("---\ntitle: [oops\n---\n", "utf-8")
    result = runner.invoke(cli, ["index", "build", "--no-semantic", "--corpus", str(corpus_dir), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0
    assert "skipped broken.md:2: invalid YAML" in result.output
    assert "skipped 1 bad file(s)" in result.output


def test_strict_build_exits_1(runner: CliRunner, corpus_dir: Path, tmp_path: Path) -> None:
    (corpus_dir / "broken.md").write_text("", "utf-8")
    result = runner.invoke(cli, ["index", "build", "--strict", "--corpus", str(corpus_dir), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 1
    assert "Error: 1 bad article(s) and --strict is set" in result.output


def test_check_lists_problems_and_exits_1(runner: CliRunner, corpus_dir: Path) -> None:
    (corpus_dir / "broken.md").write_text("no front matter here", "utf-8")
    result = runner.invoke(cli, ["index", "check", "--corpus", str(corpus_dir), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False
    assert data["errors"] == [{"path": "broken.md", "line": 1, "reason": "no front matter: the file must start with a '---' line"}]


def test_check_of_good_corpus_exits_0(runner: CliRunner, corpus_dir: Path) -> None:
    result = runner.invoke(cli, ["index", "check", "--corpus", str(corpus_dir)])
    assert result.exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "x", "--index", "/nonexistent/ix"], "Error: no index at /nonexistent/ix: build one with 'article-search index build"),
        (["index", "build", "--corpus", "/nonexistent/corpus", "--index", "/tmp/unused-ix"], "Error: corpus folder /nonexistent/corpus does not exist"),
        (["index", "check", "--corpus", "/nonexistent/corpus"], "Error: corpus folder /nonexistent/corpus does not exist"),
    ],
)
def test_failures_exit_1_with_one_line(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert result.output.count("\n") == 1


@pytest.mark.parametrize("args", [["search"], ["index", "build", "--workers", "0"], ["search", "x", "--limit", "99"], ["nosuchcommand"]])
def test_usage_errors_exit_2(runner: CliRunner, args: list[str]) -> None:
    assert runner.invoke(cli, args).exit_code == 2


def test_update_prints_what_changed(runner: CliRunner, corpus_dir: Path, index_dir: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    make_article(corpus_dir / "testing", slug="fresh", id=999_100)
    result = runner.invoke(cli, ["index", "update", "--corpus", str(corpus_dir), "--index", str(index_dir)])
    assert result.exit_code == 0
    assert result.output.startswith("added 1, changed 0, removed 0 in ")
    assert "  + testing/fresh.md" in result.output
