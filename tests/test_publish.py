"""Publishing snapshots: named by generation and hash, verified, switched to, refused when bad."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import pytest

from indexer import SearchService, build_index
from indexer.index.snapshots import MANIFEST, SnapshotError, publish_index, verify_snapshot
from indexer.index.vocabulary import VOCABULARY_FILE


def test_publish_writes_a_named_snapshot_with_manifest(index_dir: Path, tmp_path: Path) -> None:
    snapshots = tmp_path / "snapshots"
    snapshot = publish_index(index_dir, snapshots)
    assert snapshot.created and snapshot.path.parent == snapshots
    assert snapshot.path.name == f"gen-000001-{snapshot.content_hash[:12]}"
    manifest = json.loads((snapshot.path / MANIFEST).read_text())
    assert manifest["documents"] == snapshot.documents > 40
    assert manifest["generation"] == 1 and manifest["schema_version"] >= 1
    assert len(manifest["corpus_hash"]) == 64 and manifest["built_at"]
    assert json.loads((snapshots / "CURRENT").read_text())["dir"] == snapshot.path.name
    assert verify_snapshot(snapshot.path)["content_hash"] == snapshot.content_hash
    again = publish_index(index_dir, snapshots)
    assert not again.created and again.path == snapshot.path


def test_replica_switches_to_a_newer_snapshot_without_restart(corpus_dir: Path, index_dir: Path, tmp_path: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    snapshots = tmp_path / "snapshots"
    publish_index(index_dir, snapshots)
    with SearchService(snapshots, refresh_seconds=0) as replica:
        assert replica.search("quokkafish").total == 0
        make_article(corpus_dir / "testing", slug="quokka", id=999_003, title="What is a quokkafish?")
        build_index(corpus_dir, index_dir)
        publish_index(index_dir, snapshots)
        assert replica.search("quokkafish").total == 1
        assert replica.stats()["generation"] == 2


@pytest.mark.parametrize("damage", ["tamper", "truncate", "no_manifest"])
def test_bad_snapshot_is_refused_and_the_old_one_kept(corpus_dir: Path, index_dir: Path, tmp_path: Path, make_article, damage: str, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    snapshots = tmp_path / "snapshots"
    first = publish_index(index_dir, snapshots)
    with SearchService(snapshots, refresh_seconds=0) as replica:
        before = replica.search("drug tolerance").total
        make_article(corpus_dir / "testing", slug="quokka", id=999_004, title="What is a quokkafish?")
        build_index(corpus_dir, index_dir)
        second = publish_index(index_dir, snapshots)
        victim = max((p for p in second.path.iterdir() if p.name != MANIFEST), key=lambda p: p.stat().st_size)
        if damage == "tamper":
            data = bytearray(victim.read_bytes())
            data[len(data) // 2] ^= 0xFF
            victim.write_bytes(bytes(data))
        elif damage == "truncate":
            victim.write_bytes(victim.read_bytes()[:100])
        else:
            (second.path / MANIFEST).unlink()
        with pytest.raises(SnapshotError, match="publish it again"):
            verify_snapshot(second.path)
        with caplog.at_level(logging.WARNING, logger="indexer.search.service"):
            assert replica.search("drug tolerance").total == before
            assert replica.search("quokkafish").total == 0
        assert replica.stats()["generation"] == 1
        assert f"not switching to {second.path.name}" in caplog.text
    assert first.path.exists()


def test_replaced_snapshots_are_pruned_after_the_grace_period(corpus_dir: Path, index_dir: Path, tmp_path: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    snapshots = tmp_path / "snapshots"
    first = publish_index(index_dir, snapshots)
    make_article(corpus_dir / "testing", slug="one", id=999_005)
    build_index(corpus_dir, index_dir)
    second = publish_index(index_dir, snapshots, grace_seconds=3600)
    assert first.path.exists(), "a replaced snapshot is kept during the grace period"
    old = time.time() - 7200
    os.utime(second.path, (old, old))
    os.utime(first.path, (old - 10, old - 10))
    make_article(corpus_dir / "testing", slug="two", id=999_006)
    build_index(corpus_dir, index_dir)
    third = publish_index(index_dir, snapshots, grace_seconds=3600)
    assert not first.path.exists()
    assert second.path.exists() and third.path.exists()


def test_replicas_get_the_spelling_vocabulary_but_not_the_update_ledger(index_dir: Path, tmp_path: Path) -> None:
    snapshot = publish_index(index_dir, tmp_path / "snapshots")
    names = {path.name for path in snapshot.path.iterdir()}
    assert VOCABULARY_FILE in names, "replicas need it for 'did you mean' and completions"
    assert not {name for name in names if name.startswith(".")}, "the writer's ledger stays with the writer"
    with SearchService(tmp_path / "snapshots") as replica:
        assert replica.search("tolerence").suggestion == "tolerance"
        assert "quickly tolerance" in replica.suggest("quickly toleran")  # the last word, from the vocabulary
