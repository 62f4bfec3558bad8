"""The on-disk cache: exact vectors per model id, safe with two writers at once, never a reason for a scan to fail;
``ddcheck cache info`` and ``ddcheck cache clear``."""

import json
import multiprocessing as mp
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import ddcheck.cli as cli
from ddcheck import progress
from ddcheck.cache import ENCODE_CHUNK, CachedEncoder, EmbeddingCache, ShippedVectors, cache_info, text_key, write_shipped
from ddcheck.cli import app
from ddcheck.encoders import HashEncoder


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DDCHECK_CACHE", str(tmp_path / "cache"))


class Counting:
    """An encoder that counts the texts reaching it."""

    def __init__(self, dim: int = 32):
        self.inner = HashEncoder(dim)
        self.id, self.dim = "counting:" + self.inner.id, dim
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        return self.inner.encode(texts)


def test_vectors_come_back_exactly_and_per_model(tmp_path: Path):
    cache = EmbeddingCache(tmp_path / "c.sqlite3")
    vectors = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    cache.put_many("m1", ["a", "b", "c"], vectors)
    got = cache.get_many("m1", ["c", "a", "zzz"])
    assert set(got) == {"a", "c"}
    assert np.array_equal(got["a"], vectors[0]) and np.array_equal(got["c"], vectors[2]), "float32, bit for bit"
    assert cache.get_many("m2", ["a"]) == {}, "another model id never sees these vectors"
    assert cache.count() == 3 and cache.count("m1") == 3
    cache.close()


def test_the_cached_encoder_sends_only_unseen_texts_to_the_model_in_chunks(tmp_path: Path):
    cache = EmbeddingCache(tmp_path / "c.sqlite3")
    model = Counting()
    encoder = CachedEncoder(model, cache)
    texts = [f"question {i}" for i in range(ENCODE_CHUNK + 10)]
    first = encoder.encode(texts + texts[:5])
    assert first.shape == (len(texts) + 5, model.dim)
    assert sorted(t for call in model.calls for t in call) == sorted(texts), "each distinct text once"
    assert max(len(call) for call in model.calls) <= ENCODE_CHUNK
    assert np.allclose(first, model.inner.encode(texts + texts[:5])), "rows follow the input order"
    model.calls.clear()
    again = CachedEncoder(model, EmbeddingCache(tmp_path / "c.sqlite3"))
    assert np.array_equal(again.encode(texts), first[:len(texts)])
    assert model.calls == [] and again.encoded == 0 and again.hits == len(texts), "a rescan never calls the model"
    again.encode(texts + ["one new question"])
    assert model.calls == [["one new question"]]


def test_encoding_progress_is_reported(tmp_path: Path):
    seen = []

    class Watch(progress.NullProgress):
        def encoding(self, encoder_id, done, total):
            seen.append((encoder_id, done, total))

    encoder = CachedEncoder(Counting(), None)
    with progress.active(Watch()):
        encoder.encode([f"q{i}" for i in range(ENCODE_CHUNK * 2 + 1)])
    total = ENCODE_CHUNK * 2 + 1
    assert [s[1:] for s in seen] == [(0, total), (ENCODE_CHUNK, total), (2 * ENCODE_CHUNK, total), (total, total)]


def _writer(path: str, worker: int, rounds: int, queue, barrier) -> None:
    try:
        cache = EmbeddingCache(Path(path), timeout=0.001, retry_for=60)    # a tiny busy wait: the retries do the work
        rng = np.random.default_rng(worker)
        barrier.wait(timeout=120)            # start writing together, so the writes really collide
        for r in range(rounds):
            texts = [f"shared {r} {i}" for i in range(50)] + [f"own {worker} {r} {i}" for i in range(50)]
            cache.put_many("m", texts, rng.standard_normal((100, 16)).astype(np.float32))
            cache.get_many("m", texts[:10])
        queue.put((worker, cache.disabled))
    except BaseException as exc:  # pragma: no cover - reported to the test
        queue.put((worker, repr(exc)))


def test_two_processes_writing_at_once(tmp_path: Path):
    path = tmp_path / "shared.sqlite3"
    EmbeddingCache(path).close()
    ctx = mp.get_context("spawn")
    queue, barrier = ctx.Queue(), ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(path), w, 40, queue, barrier)) for w in (1, 2)]
    for p in procs:
        p.start()
    outcomes = dict(queue.get(timeout=300) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert outcomes == {1: None, 2: None}, "neither writer gave up or failed"
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == 40 * 50 + 2 * 40 * 50
    db.close()


def _hold_write_lock(path: Path, seconds: float, started: threading.Event) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    started.set()
    time.sleep(seconds)
    db.execute("COMMIT")
    db.close()


def test_database_is_locked_is_retried(tmp_path: Path):
    path = tmp_path / "c.sqlite3"
    cache = EmbeddingCache(path, timeout=0.01, retry_for=30)
    started = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 0.5, started))
    holder.start()
    started.wait()
    cache.put_many("m", ["a"], np.ones((1, 4), dtype=np.float32))    # meets "database is locked", waits, retries
    holder.join()
    assert cache.disabled is None and set(cache.get_many("m", ["a"])) == {"a"}


def test_a_lock_held_too_long_turns_the_cache_off_without_failing(tmp_path: Path, caplog):
    path = tmp_path / "c.sqlite3"
    cache = EmbeddingCache(path, timeout=0.01, retry_for=0.2)
    started = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 1.0, started))
    holder.start()
    started.wait()
    cache.put_many("m", ["a"], np.ones((1, 4), dtype=np.float32))
    holder.join()
    assert cache.disabled and "locked" in cache.disabled
    assert cache.get_many("m", ["a"]) == {}
    assert "embedding cache off" in caplog.text


def test_an_unusable_cache_location_does_not_stop_a_scan(tmp_path: Path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("DDCHECK_CACHE", str(blocker / "cache"))
    (tmp_path / "q.txt").write_text("Describe the board.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "q.txt"), "--json", "-", "--encoder", "hash", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["units"] == 1


def test_a_damaged_cache_file_does_not_stop_a_scan(tmp_path: Path, monkeypatch):
    root = tmp_path / "cache"
    root.mkdir()
    (root / "embeddings.sqlite3").write_bytes(b"this is not a database" * 100)
    (tmp_path / "q.txt").write_text("Describe the board.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "q.txt"), "--json", "-", "--encoder", "hash", "--fail-on", "never"])
    assert result.exit_code == 0, result.output


def test_warm_rescan_gives_the_same_report_and_encodes_nothing(tmp_path: Path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("List the military customers and the revenue from each.\nDescribe the board.\n", encoding="utf-8")
    (folder / "b.txt").write_text("请提供全体员工的身份证号码及家庭住址。\nDescribe the board.\n", encoding="utf-8")
    args = ["scan", str(folder), "--json", "-", "--encoder", "hash", "--fail-on", "never"]
    cold = CliRunner().invoke(app, args)
    calls = []
    real = HashEncoder.encode
    monkeypatch.setattr(HashEncoder, "encode", lambda self, texts: calls.append(len(texts)) or real(self, texts))
    warm = CliRunner().invoke(app, args)
    assert cold.exit_code == warm.exit_code == 0
    assert cold.stdout == warm.stdout
    assert calls == [], "every vector came from the cache"
    nocache = CliRunner().invoke(app, args + ["--no-cache"])
    assert nocache.stdout == cold.stdout and sum(calls) > 0


def test_cache_info_and_clear(tmp_path: Path, monkeypatch):
    (tmp_path / "q.txt").write_text("Describe the board.\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["cache", "info"]).exit_code == 0, "info on a cache that does not exist yet"
    assert not (tmp_path / "cache" / "embeddings.sqlite3").exists(), "info creates nothing"
    CliRunner().invoke(app, ["scan", str(tmp_path / "q.txt"), "--json", str(tmp_path / "r.json"), "--encoder", "hash"])
    info = json.loads(CliRunner().invoke(app, ["cache", "info", "--json"]).stdout)
    assert info["path"] == str(tmp_path / "cache") and info["bytes"] > 0 and info["parsed_files"] == 1
    assert info["scored_texts"] == 1
    (model, count), = info["models"].items()
    assert model == HashEncoder().id and count > 100       # the exemplars and the question
    text = CliRunner().invoke(app, ["cache", "info"]).stdout
    assert str(tmp_path / "cache") in text and model in text and f"{count:,}" in text

    refused = CliRunner().invoke(app, ["cache", "clear"])
    assert refused.exit_code == 2 and "--yes" in refused.stderr, "no terminal to ask on: refuse, never guess"
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    kept = CliRunner().invoke(app, ["cache", "clear"], input="n\n")
    assert kept.exit_code == 0 and "nothing deleted" in kept.stdout
    assert cache_info()["models"] == {model: count}
    cleared = CliRunner().invoke(app, ["cache", "clear"], input="y\n")
    assert cleared.exit_code == 0 and f"deleted {count:,} cached vectors" in cleared.stdout
    assert cache_info()["models"] == {} and cache_info()["parsed_files"] == cache_info()["scored_texts"] == 0
    assert CliRunner().invoke(app, ["cache", "clear", "--yes"]).stdout.strip().endswith("is empty")


def test_cache_clear_one_model(tmp_path: Path):
    cache = EmbeddingCache()
    cache.put_many("m1", ["a"], np.ones((1, 4), dtype=np.float32))
    cache.put_many("m2", ["a"], np.ones((1, 4), dtype=np.float32))
    cache.close()
    assert CliRunner().invoke(app, ["cache", "clear", "--model", "nope", "--yes"]).exit_code == 2
    result = CliRunner().invoke(app, ["cache", "clear", "--model", "m1", "--yes"])
    assert result.exit_code == 0 and "deleted 1 cached vectors" in result.stdout
    assert cache_info()["models"] == {"m2": 1}


def test_shipped_vectors_are_used_only_for_their_encoder_id(tmp_path: Path):
    path = tmp_path / "v.npz"
    vectors = np.eye(3, 4, dtype=np.float32)
    write_shipped(path, "enc:1", ["x", "y", "z"], vectors)
    assert set(ShippedVectors(path, "enc:1").get_many(["y", "w"])) == {"y"}
    assert ShippedVectors(path, "enc:2").get_many(["y"]) == {}
    assert len(text_key("x")) == 32


def test_a_rescan_scores_only_new_texts_and_the_engine_is_part_of_the_key(tmp_path: Path, monkeypatch):
    from ddcheck.matcher import Matcher

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("List the military customers and the revenue from each.\nDescribe the board.\n",
                                  encoding="utf-8")
    args = ["scan", str(folder), "--json", "-", "--encoder", "hash", "--fail-on", "never"]
    cold = CliRunner().invoke(app, args)
    scored: list[list[str]] = []
    real = Matcher.score_texts
    monkeypatch.setattr(Matcher, "score_texts", lambda self, norms, texts, sections=None:
                        scored.append(list(texts)) or real(self, norms, texts, sections))
    warm = CliRunner().invoke(app, args)
    assert warm.stdout == cold.stdout and scored == [], "every finding came from the cache"
    assert any(u["findings"] for u in json.loads(warm.stdout)["files"][0]["units"])
    (folder / "a.txt").write_text("List the military customers and the revenue from each.\nDescribe the auditors.\n",
                                  encoding="utf-8")
    CliRunner().invoke(app, args)
    assert scored == [["Describe the auditors."]], "only the new question is scored"
    keywords = CliRunner().invoke(app, args + ["--matcher", "keywords"])
    assert scored[-1] == ["List the military customers and the revenue from each.", "Describe the auditors."], \
        "another matcher does not reuse the hybrid matcher's findings"
    assert json.loads(keywords.stdout)["engine"]["matcher"] == "keywords"
    scored.clear()
    CliRunner().invoke(app, args + ["--no-cache"])
    assert len(scored) == 1 and len(scored[0]) == 2, "--no-cache scores everything"


def test_a_damaged_findings_entry_is_scored_again(tmp_path: Path):
    (tmp_path / "q.txt").write_text("List the military customers.\n", encoding="utf-8")
    args = ["scan", str(tmp_path / "q.txt"), "--json", "-", "--encoder", "hash", "--fail-on", "never"]
    first = CliRunner().invoke(app, args).stdout
    db = sqlite3.connect(tmp_path / "cache" / "embeddings.sqlite3")
    db.execute("UPDATE scored SET data = x'00'")
    db.commit()
    db.close()
    assert CliRunner().invoke(app, args).stdout == first


def test_a_large_batch_releases_the_model_afterwards_and_a_small_one_keeps_it(tmp_path: Path, monkeypatch):
    import ddcheck.cache as cache_module

    class Releasing(Counting):
        released = 0

        def release(self):
            self.released += 1

    monkeypatch.setattr(cache_module, "RELEASE_AFTER", 50)
    inner = Releasing()
    encoder = CachedEncoder(inner, EmbeddingCache(tmp_path / "c.sqlite3"))
    encoder.encode([f"question {i}" for i in range(10)])
    assert inner.released == 0, "a small scan keeps its model"
    big = [f"item {i}" for i in range(60)]
    first = encoder.encode(big)
    assert inner.released == 1, "every text is cached now: the model's memory is given back"
    assert np.array_equal(encoder.encode(big), first) and inner.released == 1
    uncached = Releasing()
    assert CachedEncoder(uncached, None).encode(big).shape == (60, 32)
    assert uncached.released == 0, "without a cache a later step would have to encode again: keep the model"
