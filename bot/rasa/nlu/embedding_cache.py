"""Sentence embeddings of training texts, cached on disk by encoder and text content.

Training embeds every training text with the sentence encoder (several thousand texts, most of
the crisis classifier's training time). The texts rarely change between two trainings, so their
embeddings are kept on disk (IOP_EMBEDDING_CACHE, which scripts/train.sh sets to
~/.cache/iop-assistant/embeddings; else models/cache/), one file per encoder: the key is the
SHA-256 of the text, and the file's name carries a digest of what determines the vectors (the
model's config.json and tokenizer.json, the ONNX graph and embedding versions of encoders.py),
so another encoder or a changed computation never reads stale vectors, and a mere edit of the
code keeps them.
Used for training texts only: a user's message is never written to disk, not even as a vector.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import zipfile
from pathlib import Path

import numpy as np

from bot.settings import REPO_ROOT

logger = logging.getLogger(__name__)

# scripts/train.sh points IOP_EMBEDDING_CACHE outside the clone (~/.cache/iop-assistant).
CACHE_DIR = Path(os.environ.get("IOP_EMBEDDING_CACHE") or REPO_ROOT / "models" / "cache")
_lock = threading.Lock()


def _text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def cache_file(name: str, directory: Path = CACHE_DIR) -> Path:
    """The cache file of encoder `name` as it is installed (config, tokenizer, versions)."""
    from bot.rasa.nlu.encoders import EMBEDDING_VERSION, ONNX_GRAPH_VERSION, model_dir

    files = model_dir(name)
    digest = hashlib.sha256()
    for file in ("config.json", "tokenizer.json"):
        digest.update(hashlib.sha256((files / file).read_bytes()).digest())
    digest.update(f"onnx-graph-{ONNX_GRAPH_VERSION}|embedding-{EMBEDDING_VERSION}".encode())
    return directory / f"{name}-{digest.hexdigest()[:16]}.npz"


def _read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as stored:
            return stored["keys"], stored["vectors"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return np.zeros((0, 32), dtype=np.uint8), np.zeros((0, 0), dtype=np.float32)


def cached_encode(name: str, texts: list[str], directory: Path = CACHE_DIR) -> np.ndarray:
    """(len(texts), dimension) embeddings by encoder `name`: from the cache where the text was
    embedded before, the rest encoded now and added to the cache."""
    from bot.rasa.nlu.encoders import load_encoder

    path = cache_file(name, directory)
    with _lock:
        keys, vectors = _read(path)
        index = {bytes(k): i for i, k in enumerate(keys)}
        wanted = [_text_key(t) for t in texts]
        missing = sorted(
            {k: t for k, t in zip(wanted, texts, strict=True) if k not in index}.items()
        )
        if missing:
            new = load_encoder(name).encode([t for _, t in missing])
            new_keys = np.frombuffer(b"".join(k for k, _ in missing), dtype=np.uint8).reshape(
                -1, 32
            )
            vectors = new if not len(vectors) else np.vstack([vectors, new])
            keys = np.vstack([keys, new_keys])
            index.update({k: len(keys) - len(missing) + i for i, (k, _) in enumerate(missing)})
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(partial, keys=keys, vectors=vectors.astype(np.float32))
            partial.replace(path)
        logger.info(
            "embeddings (%s): %d cached, %d computed", name, len(texts) - len(missing), len(missing)
        )
        return np.asarray(vectors[[index[k] for k in wanted]], dtype=np.float32)
