"""The layout is the architecture (docs/architecture.md#layout): each layer imports only the
layers below it, and no two of our modules share a name."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from bot.settings import REPO_ROOT

# top to bottom; a layer may import itself and any layer after it
LAYERS = ["bot.ops", "bot.apps", "actions", "bot.rasa", "bot.notify", "bot.db", "bot.domain"]
SHARED = {"bot.settings", "bot.log"}


def layer_of(module: str) -> str | None:
    return next(
        (layer for layer in LAYERS if module == layer or module.startswith(layer + ".")), None
    )


def our_modules() -> list[Path]:
    return [
        path
        for root in ("bot", "actions")
        for path in (REPO_ROOT / root).rglob("*.py")
        if "migrations" not in path.parts
    ]


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bot":
                names |= {f"bot.{alias.name}" for alias in node.names}
            else:
                names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return {name for name in names if name.split(".")[0] in ("bot", "actions")}


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = []
    for path in our_modules():
        module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
        own = layer_of(module)
        if own is None:
            continue  # bot/__init__, bot/__main__, settings, log
        for name in imported(path) - SHARED:
            target = layer_of(name)
            assert target is not None, f"{module} imports {name}, which is in no layer"
            if LAYERS.index(target) < LAYERS.index(own):
                wrong.append(f"{module} imports {name}")
    assert not wrong, wrong


def test_the_shared_modules_import_no_layer() -> None:
    for name in SHARED:
        path = REPO_ROOT / (name.replace(".", "/") + ".py")
        assert not {n for n in imported(path) if layer_of(n)}, name


def test_no_two_modules_share_a_name() -> None:
    names = Counter(
        path.stem for path in our_modules() if path.stem not in ("__init__", "__main__")
    )
    assert not [name for name, count in names.items() if count > 1], names.most_common(5)
