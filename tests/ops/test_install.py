"""scripts/install.sh: a new clone's venv comes from the cache when its requirements match.

Each test runs the real script in throwaway clones that hold the script, the real
scripts/find-python.sh, requirements files with nothing to install (real venvs are built, in
seconds) and a stand-in for the encoder step that records which clone ran it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ("requirements.txt", "requirements-test.txt", "requirements-models.txt")


def make_clone(path: Path) -> Path:
    (path / "scripts").mkdir(parents=True)
    for script in ("install.sh", "find-python.sh"):
        shutil.copy2(ROOT / "scripts" / script, path / "scripts" / script)
    for name in REQUIREMENTS:
        (path / name).write_text("# nothing to install\n")
    nlu = path / "bot" / "rasa" / "nlu"
    nlu.mkdir(parents=True)
    for package in (path / "bot", path / "bot" / "rasa", nlu):
        (package / "__init__.py").write_text("")
    (nlu / "encoders.py").write_text(
        "import pathlib, sys\npathlib.Path('prepared').write_text(sys.prefix)\n"
    )
    return path


def install(clone: Path, cache: Path, **env: str) -> str:
    result = subprocess.run(
        ["bash", "scripts/install.sh"],
        cwd=clone,
        env={**os.environ, "IOP_CACHE_DIR": str(cache), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def venvs(cache: Path) -> list[Path]:
    return sorted(p for p in cache.glob("venv-*") if p.is_dir())


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_clones_share_a_venv_until_their_requirements_change(tmp_path: Path, cache: Path) -> None:
    cache.mkdir()
    hours_ago = time.time() - 3 * 3600
    for n in range(4):  # venvs of earlier requirements, last used hours ago, oldest first
        stale = cache / f"venv-old{n}"
        stale.mkdir()
        (stale / ".complete").write_text("")
        (stale / ".used").write_text("")
        os.utime(stale / ".used", (hours_ago + n, hours_ago + n))
    first, second = make_clone(tmp_path / "a"), make_clone(tmp_path / "b")

    assert "building the venv" in install(first, cache)
    assert "building the venv" not in install(second, cache)

    built = first.joinpath(".venv").resolve()
    for clone in (first, second):
        venv = clone / ".venv"
        assert venv.is_symlink() and venv.resolve() == built
        # the encoder step ran in each clone, with the venv's interpreter
        assert (clone / "prepared").read_text() == str(venv)
        version = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert version.stdout.strip() == "(3, 10)"

    # a build that stopped half way is built again, not used
    (built / ".complete").unlink()
    (built / "half-written").write_text("")
    assert "building the venv" in install(make_clone(tmp_path / "c"), cache)
    assert (built / ".complete").is_file() and not (built / "half-written").exists()

    # changed requirements: a new venv; the one in use stays
    (first / "requirements.txt").write_text("# one pin changed\n")
    assert "building the venv" in install(first, cache)
    assert first.joinpath(".venv").resolve() not in (built, second.joinpath(".venv").resolve())

    # the three most recently used are kept
    kept = {p.name for p in venvs(cache)}
    assert kept == {built.name, first.joinpath(".venv").resolve().name, "venv-old3"}


def test_a_clone_with_its_own_venv_keeps_it(tmp_path: Path, cache: Path) -> None:
    clone = make_clone(tmp_path / "a")
    install(clone, cache, IOP_VENV_CACHE="0")
    venv = clone / ".venv"
    assert venv.is_dir() and not venv.is_symlink()

    install(clone, cache)  # cache on now: the clone's own venv is installed into in place

    assert venv.is_dir() and not venv.is_symlink()
    assert (clone / "prepared").read_text() == str(venv)
    assert venvs(cache) == []
