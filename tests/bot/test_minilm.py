"""bot/nlu/minilm.py computes what sentence-transformers computes for all-MiniLM-L6-v2.

The reference (tests/bot/fixtures/minilm_reference.json) was produced by sentence-transformers
itself on PyTorch, from the same packaged weights, for texts that exercise the tokenizer:
accents, punctuation, CJK characters, control and zero-width characters, a word longer than any
vocabulary piece, and a text past the 256-token limit.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from bot.nlu.minilm import MAX_TOKENS, MiniLMEncoder, load_encoder, model_dir

REFERENCE = Path(__file__).with_name("fixtures") / "minilm_reference.json"


@lru_cache(maxsize=1)
def reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def test_token_ids_match_the_reference_tokenizer() -> None:
    encoder = load_encoder()
    for text, ids in zip(reference()["texts"], reference()["ids"], strict=True):
        assert encoder.tokenizer.encode(text) == ids, text


def test_embeddings_match_sentence_transformers() -> None:
    vectors = load_encoder().encode(reference()["texts"])
    expected = np.array(reference()["embeddings"], dtype=np.float32)
    assert vectors.shape == expected.shape == (len(reference()["texts"]), 384)
    assert np.abs(vectors - expected).max() < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batching_and_padding_do_not_change_a_text_s_embedding() -> None:
    encoder = load_encoder()
    texts = ["kms", "My roommate took a bunch of pills and won't wake up, what do I do?"]
    together = encoder.encode(texts, batch_size=8)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert np.abs(together - alone).max() < 1e-5


def test_paraphrases_are_closer_than_look_alikes() -> None:
    """The property the crisis classifier relies on, on the real weights."""
    a, paraphrase, look_alike = load_encoder().encode(
        [
            "I am going to end my life tonight",
            "tonight is the night I kill myself",
            "this commute is killing me tonight",
        ]
    )
    assert a @ paraphrase > a @ look_alike + 0.1


def test_long_text_is_truncated_to_the_model_limit() -> None:
    ids = load_encoder().tokenizer.encode("word " * 1000)
    assert len(ids) == MAX_TOKENS


def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.nlu.minilm.PACKAGE", "no_such_model_package")
    with pytest.raises(RuntimeError, match="make install"):
        model_dir()


def test_encoder_loads_from_a_directory() -> None:
    assert MiniLMEncoder(model_dir()).dimension == 384
