"""Training embeddings cached by text: the same vectors, computed once."""

from __future__ import annotations

import numpy as np

from bot.rasa.nlu import embedding_cache


class CountingEncoder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen += texts
        return np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)


def test_cached_texts_are_not_encoded_again_and_keep_their_vectors(tmp_path, monkeypatch) -> None:
    encoder = CountingEncoder()
    monkeypatch.setattr("bot.rasa.nlu.encoders.load_encoder", lambda name: encoder)
    monkeypatch.setattr(embedding_cache, "cache_file", lambda name, d: d / f"{name}-test.npz")
    first = embedding_cache.cached_encode("fake", ["banana", "kiwi", "banana"], tmp_path)
    assert sorted(encoder.seen) == ["banana", "kiwi"]  # a repeated text is encoded once
    second = embedding_cache.cached_encode("fake", ["kiwi", "apple", "banana"], tmp_path)
    assert encoder.seen[2:] == ["apple"]
    np.testing.assert_array_equal(first[[1, 0]], second[[0, 2]])
    np.testing.assert_array_equal(second[1], encoder.encode(["apple"])[0])


def test_a_damaged_cache_file_is_rebuilt(tmp_path, monkeypatch) -> None:
    encoder = CountingEncoder()
    monkeypatch.setattr("bot.rasa.nlu.encoders.load_encoder", lambda name: encoder)
    monkeypatch.setattr(embedding_cache, "cache_file", lambda name, d: d / f"{name}-test.npz")
    (tmp_path / "fake-test.npz").write_bytes(b"not a numpy file")
    vectors = embedding_cache.cached_encode("fake", ["pear"], tmp_path)
    assert vectors.shape == (1, 3) and encoder.seen == ["pear"]


def test_the_cache_file_names_the_encoder_and_its_configuration() -> None:
    path = embedding_cache.cache_file("mpnet")
    assert path.name.startswith("mpnet-") and path.suffix == ".npz"
    assert path.parent == embedding_cache.CACHE_DIR
