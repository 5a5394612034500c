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


def test_the_cache_key_is_what_determines_the_vectors(tmp_path, monkeypatch) -> None:
    """The model's config.json and tokenizer.json and the two versions, nothing else: an edit
    of the code (a refactor) keeps the cache, a change of any of them starts a new file."""
    (tmp_path / "config.json").write_text('{"hidden_size": 768}', encoding="utf-8")
    (tmp_path / "tokenizer.json").write_text('{"model": {}}', encoding="utf-8")
    monkeypatch.setattr("bot.rasa.nlu.encoders.model_dir", lambda name: tmp_path)
    monkeypatch.setattr("bot.rasa.nlu.encoders.ONNX_GRAPH_VERSION", 1)
    monkeypatch.setattr("bot.rasa.nlu.encoders.EMBEDDING_VERSION", 1)
    first = embedding_cache.cache_file("mpnet", tmp_path)
    # pinned: a new ingredient of the key (as the code's text once was) shows here
    assert first.name == "mpnet-d979bac070f866e8.npz"
    names = {first.name}
    for change in ("config.json", "tokenizer.json"):
        (tmp_path / change).write_text("{}", encoding="utf-8")
        names.add(embedding_cache.cache_file("mpnet", tmp_path).name)
    monkeypatch.setattr("bot.rasa.nlu.encoders.ONNX_GRAPH_VERSION", 2)
    names.add(embedding_cache.cache_file("mpnet", tmp_path).name)
    monkeypatch.setattr("bot.rasa.nlu.encoders.EMBEDDING_VERSION", 2)
    names.add(embedding_cache.cache_file("mpnet", tmp_path).name)
    assert len(names) == 5
    assert embedding_cache.cache_file("minilm", tmp_path).name.startswith("minilm-")
