"""A catalogue of hostile article files: each is reported with its path and reason, the rest indexed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, article_text
from indexer import SearchService, build_index, load_corpus
from webapp.routes import reserved_by

GOOD = article_text()


def with_field(name: str, raw_yaml: str) -> bytes:
    """The good article with one field's YAML replaced by ``raw_yaml``."""
    lines = GOOD.splitlines()
    for n, line in enumerate(lines):
        if line.startswith(f"{name}:"):
            end = n + 1
            while end < len(lines) and lines[end].startswith(" "):
                end += 1
            lines[n:end] = [f"{name}: {raw_yaml}"]
            return ("\n".join(lines) + "\n").encode()
    raise KeyError(name)


def nested(depth: int) -> bytes:
    return f"---\ntitle: t\nanswer: a\nid: 1\nurl: /x\ndeep: {'[' * depth}{']' * depth}\n---\n".encode()


def related(count: int) -> bytes:
    links = "".join(f"related_article{n}:\n  id: {n}\n  title: t{n}\n  subject: s\n  url: /r/{n}\n" for n in range(1, count + 1))
    return GOOD.replace("---\n\n&nbsp;", links + "---\n\n&nbsp;").encode()


def alias_bomb(levels: int = 9) -> bytes:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels)]
    return ("---\ntitle: t\nanswer: a\nid: 1\nurl: /x\n" + "\n".join(lines) + "\n---\n").encode()


#: name -> (file bytes, what the reason must say)
CATALOGUE: dict[str, tuple[bytes, str]] = {
    # The indexer issue's list
    "malformed_yaml": (with_field("author", "[unclosed"), "invalid YAML"),
    "no_front_matter": (b"# Just Markdown\n\nNo front matter.\n", "no front matter"),
    "empty": (b"", "empty"),
    "binary": (bytes(range(256)) * 64, "not UTF-8"),
    "latin1": (GOOD.replace("What is a test", "Qu\u00e9 test").encode("latin-1"), "not UTF-8"),
    "utf16": (GOOD.encode("utf-16"), "not UTF-8"),
    "ten_mb_answer": (GOOD.replace("answer: ", "answer: " + "x" * 10_000_000, 1).encode(), "MB limit"),
    "missing_title": (with_field("title", "").replace(b"title: \n", b""), "missing field 'title'"),
    "missing_answer": (with_field("answer", "null"), "missing field 'answer'"),
    "title_list": (with_field("title", "[a, b]"), "'title' must be text, not a list"),
    "bad_date": (with_field("date", "31/31/2025"), "not a date"),
    "alias_bomb": (alias_bomb(), "over 10000 values"),
    "url_climbs": (with_field("url", "/learn/../../../etc/passwd"), "without '..'"),
    "url_encoded_climb": (with_field("url", "/learn/%2e%2e/%2e%2e/etc"), "site path"),
    "file_name_climbs": (with_field("file_name", "../../outside.md"), "plain file name"),
    # Deep nesting, long lines, NULs
    "nested_200": (nested(200), "nested"),
    "nested_5000": (nested(5000), "nest"),
    "one_mb_line": (("---\ntitle: " + "t" * 1_100_000 + "\n---\n").encode(), "MB limit"),
    "nul_in_title": (GOOD.replace("What is a test", "What\x00is").encode(), "NUL"),
    "nul_at_end": (GOOD.encode() + b"\x00", "NUL"),
    # Every YAML type where text is expected
    "title_bool": (with_field("title", "true"), "'title' must be text, not a bool"),
    "title_mapping": (with_field("title", "{a: 1}"), "'title' must be text, not a dict"),
    "title_binary": (with_field("title", "!!binary aGVsbG8="), "'title' must be text, not a bytes"),
    "title_set": (with_field("title", "!!set {a, b}"), "'title' must be text, not a set"),
    "title_timestamp": (with_field("title", "2025-01-01 10:00:00"), "'title' must be text, not a datetime"),
    "answer_list": (with_field("answer", "[x]"), "'answer' must be text, not a list"),
    "answer_mapping": (with_field("answer", "{x: y}"), "'answer' must be text, not a dict"),
    "subject_list": (with_field("subject", "[Medicine, Biology]"), "'subject' must be text"),
    "question_mapping": (with_field("question", "{q: 1}"), "'question' must be text"),
    "url_number": (with_field("url", "12345"), "site path"),
    "url_list": (with_field("url", "[/a, /b]"), "'url' must be text"),
    "url_javascript": (with_field("url", "'javascript:alert(1)'"), "site path"),
    "url_reserved": (with_field("url", "/api/search"), "taken by the JSON API"),
    "id_float": (with_field("id", "1.5"), "'id' must be a whole number"),
    "id_bool": (with_field("id", "true"), "'id' must be a whole number"),
    "id_negative": (with_field("id", "-4"), "out of range"),
    "id_huge": (with_field("id", str(2**70)), "out of range"),
    "seo_list": (with_field("seo", "[a, b]"), "'seo' must hold"),
    "related_list": (GOOD.replace("---\n\n&nbsp;", "related_article1: [a, b]\n---\n\n&nbsp;").encode(), "related_articleN"),
    "related_10000": (related(10_000), "over 10000 values"),
    "related_60": (related(60), "60 related articles; at most 50"),
    "front_matter_scalar": (b"---\njust a string\n---\n", "not 'key: value'"),
    "unclosed_front_matter": (b"---\ntitle: t\nanswer: a\n", "not closed"),
    "duplicate_key_tab": (b"---\ntitle: t\n\tanswer: a\n---\n", "invalid YAML"),
    "python_object_tag": (with_field("title", "!!python/object/apply:os.system ['echo hacked']"), "invalid YAML"),
    "score_text": (with_field("score", "high"), "'score' must be a number"),
}


def test_catalogue_is_big_enough() -> None:
    assert len(CATALOGUE) >= 40


@pytest.fixture(scope="module")
def hostile_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = tmp_path_factory.mktemp("hostile") / "corpus"
    (corpus / "bad").mkdir(parents=True)
    for name, (data, _) in CATALOGUE.items():
        (corpus / "bad" / f"{name}.md").write_bytes(data)
    for n in range(5):
        slug = f"good-{n}"
        (corpus / f"{slug}.md").write_text(article_text(slug=slug, id=100 + n, title=f"Good article {n}"), "utf-8")
    return corpus


def test_every_bad_file_is_reported_and_every_good_one_indexed(hostile_corpus: Path, tmp_path: Path) -> None:
    report = build_index(hostile_corpus, tmp_path / "index", reserved_by=reserved_by)
    assert report.indexed == 5
    reasons = {error.source: error.reason for error in report.errors}
    assert set(reasons) == {f"bad/{name}.md" for name in CATALOGUE}
    for name, (_, expected) in CATALOGUE.items():
        assert expected in reasons[f"bad/{name}.md"], (name, reasons[f"bad/{name}.md"])
    with SearchService(tmp_path / "index") as service:
        assert service.search("good article").total == 5


def test_python_tags_never_run(hostile_corpus: Path, tmp_path: Path) -> None:
    marker = tmp_path / "hacked"
    data = with_field("title", f"!!python/object/apply:os.system ['touch {marker}']")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "evil.md").write_bytes(data)
    scan = load_corpus(tmp_path / "c")
    assert not marker.exists()
    assert scan.errors and not scan.articles


def test_memory_stays_bounded(hostile_corpus: Path, tmp_path: Path) -> None:
    """Build the hostile corpus in a fresh process and read its peak memory.

    (VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the
    parent across fork and exec, so a large test runner would be measured too.)
    """
    code = (
        "import re, sys; from pathlib import Path; from indexer import build_index; "
        f"build_index(Path({str(hostile_corpus)!r}), Path({str(tmp_path / 'ix')!r})); "
        "print(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split()[-1]) / 1024
    assert peak_mb < 250, f"peak RSS {peak_mb:.0f} MB"


@pytest.mark.slow
def test_scanning_100000_tiny_files_is_bounded(tmp_path: Path) -> None:
    corpus = tmp_path / "many"
    for folder in range(100):
        sub = corpus / f"d{folder:03d}"
        sub.mkdir(parents=True)
        for n in range(1000):
            (sub / f"f{n:04d}.md").write_bytes(b"x")
    code = (
        "import re, time; from pathlib import Path; from indexer import load_corpus; "
        f"t = time.perf_counter(); scan = load_corpus(Path({str(corpus)!r})); "
        "peak = re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1); "
        "print(len(scan.articles), len(scan.errors), time.perf_counter() - t, peak)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert done.returncode == 0, done.stderr
    articles, errors, seconds, peak_kb = done.stdout.split()
    assert (int(articles), int(errors)) == (0, 100_000)
    assert int(peak_kb) / 1024 < 400, f"peak RSS {int(peak_kb) / 1024:.0f} MB"
    assert float(seconds) < 120
