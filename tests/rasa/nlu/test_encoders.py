"""bot/rasa/nlu/encoders.py computes what sentence-transformers computes for both sentence encoders.

The references (tests/rasa/nlu/fixtures/<name>_reference.json) were produced by
sentence-transformers itself on PyTorch, from the same packaged weights, for texts that exercise the
tokenizer: accents, punctuation, CJK characters, control and zero-width characters, a word longer
than any vocabulary piece, and a text past the model's token limit (256 for MiniLM, 384 for MPNet).
"""

from __future__ import annotations

import json
import zipfile
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import bot.rasa.nlu.encoders as encoders
from bot.rasa.nlu import model_files, pipeline_entry
from bot.rasa.nlu.encoders import (
    ONNX_GRAPH_VERSION,
    MiniLMEncoder,
    MPNetEncoder,
    batches,
    load_encoder,
    model_dir,
)
from bot.rasa.nlu.model_files import _JoinedFiles, mpnet_dir

FIXTURES = Path(__file__).with_name("fixtures")
WIDTH = {"minilm": 384, "mpnet": 768}
NAMES = sorted(WIDTH)


@cache
def reference(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}_reference.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NAMES)
def test_token_ids_match_the_reference_tokenizer(name: str) -> None:
    encoder = load_encoder(name)
    for text, ids in zip(reference(name)["texts"], reference(name)["ids"], strict=True):
        assert encoder.tokenizer.encode(text).ids == ids, text


@pytest.mark.parametrize("name", NAMES)
def test_embeddings_match_sentence_transformers(name: str) -> None:
    vectors = load_encoder(name).encode(reference(name)["texts"])
    expected = np.array(reference(name)["embeddings"], dtype=np.float32)
    assert vectors.shape == expected.shape == (len(reference(name)["texts"]), WIDTH[name])
    assert np.abs(vectors - expected).max() < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_batching_and_padding_do_not_change_a_text_s_embedding(name: str) -> None:
    """MPNet's positions and distance buckets are computed per padded batch: padding must not
    shift them."""
    encoder = load_encoder(name)
    texts = ["kms", "My roommate took a bunch of pills and won't wake up, what do I do?"]
    together = encoder.encode(texts, batch_size=8)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert np.abs(together - alone).max() < 1e-5


def test_batches_group_rows_by_length_under_a_padded_token_budget() -> None:
    # a 2,000-character message beside its 60 clauses: the long text is not padded into a batch
    # of short ones (29 rows of 384 tokens took 14 s), nor short ones to its length
    lengths = [384] + [10 + n % 7 for n in range(60)]
    groups = batches(lengths, most=32, budget=2048)
    assert sorted(i for group in groups for i in group) == list(range(61))
    assert groups[-1] == [0]
    for group in groups:
        assert len(group) <= 32
        assert len(group) * max(lengths[i] for i in group) <= 2048 or len(group) == 1
        assert [lengths[i] for i in group] == sorted(lengths[i] for i in group)
    # short rows fill a batch up to `most`
    assert [len(g) for g in batches([5] * 70, most=32, budget=2048)] == [32, 32, 6]
    # a row over the budget on its own still gets a batch
    assert batches([5000, 4], most=32, budget=2048) == [[1], [0]]


@pytest.mark.parametrize("name", NAMES)
def test_a_long_text_among_short_ones_embeds_as_it_does_alone(name: str) -> None:
    encoder = load_encoder(name)
    texts = ["I went out today. " * 100, "kms", "what time is group?"]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert np.abs(together - alone).max() < 1e-5


@pytest.mark.parametrize("name", NAMES)
def test_paraphrases_are_closer_than_look_alikes(name: str) -> None:
    """The property the crisis classifier relies on, on the real weights."""
    a, paraphrase, look_alike = load_encoder(name).encode(
        [
            "I am going to end my life tonight",
            "tonight is the night I kill myself",
            "this commute is killing me tonight",
        ]
    )
    assert a @ paraphrase > a @ look_alike + 0.1


@pytest.mark.parametrize(("name", "limit"), [("minilm", 256), ("mpnet", 384)])
def test_long_text_is_truncated_to_the_model_limit(name: str, limit: int) -> None:
    ids = load_encoder(name).tokenizer.encode("word " * 1000).ids
    assert len(ids) == limit


@pytest.mark.parametrize(("name", "start"), [("minilm", "[CLS]"), ("mpnet", "<s>")])
def test_marker_tokens_typed_in_a_message_are_text(name: str, start: str) -> None:
    """Only the tokenizer puts the sentence markers: typed, they are split like any text."""
    tokenizer = load_encoder(name).tokenizer
    typed = tokenizer.encode(f"{start} [SEP] </s> [UNK] <mask> hi").tokens
    assert typed[0] == start and start not in typed[1:-1]
    assert len(typed) > 8 and "[UNK]" not in typed


def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("bot.rasa.nlu.model_files.MINILM_PACKAGE", "no_such_model_package")
    with pytest.raises(RuntimeError, match="make install"):
        model_dir("minilm")
    monkeypatch.setattr("bot.rasa.nlu.model_files.MPNET_PARTS", [("no-such-part", "x.zip.001")])
    with pytest.raises(RuntimeError, match="make install"):
        mpnet_dir(tmp_path / "mpnet")


def test_unknown_encoder_is_refused() -> None:
    with pytest.raises(ValueError, match="mpnet"):
        model_dir("word2vec")


def test_the_onnx_graph_is_built_once_into_the_venv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """First use builds the graph beside its final place and renames it; later loads reuse it;
    a new graph version builds afresh instead of reading a stale graph."""
    monkeypatch.setattr(encoders.sys, "prefix", str(tmp_path))
    first = MiniLMEncoder(model_dir("minilm"))
    [built] = list((tmp_path / "share" / "iop-assistant" / "onnx").iterdir())
    assert sorted(p.name for p in built.iterdir()) == ["model.onnx", "model.onnx.data"]
    stamp = (built / "model.onnx.data").stat().st_mtime_ns
    again = MiniLMEncoder(model_dir("minilm"))  # reads only the embedding tables: the layers
    assert (built / "model.onnx.data").stat().st_mtime_ns == stamp  # come from the saved graph
    assert not any(name.startswith("encoder.layer.") for name in again._w)
    monkeypatch.setattr(encoders, "ONNX_GRAPH_VERSION", ONNX_GRAPH_VERSION + 1)
    MiniLMEncoder(model_dir("minilm"))
    assert len(list(built.parent.iterdir())) == 2
    assert not list(built.parent.glob("*.partial"))
    texts = ["I want to die", "dying to know"]
    assert np.abs(first.encode(texts) - again.encode(texts)).max() == 0


def test_encoders_load_from_a_directory() -> None:
    assert MiniLMEncoder(model_dir("minilm")).dimension == 384
    assert MPNetEncoder(model_dir("mpnet")).dimension == 768


def test_a_split_zip_reads_as_one_file(tmp_path: Path) -> None:
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w") as archive:
        archive.writestr("model/a.txt", "alpha " * 5000)
        archive.writestr("model/b.bin", bytes(range(256)) * 300)
    data = whole.read_bytes()
    cuts = [0, 1000, 1001, 40000, len(data)]  # a piece of one byte too
    pieces = []
    for index, (start, end) in enumerate(zip(cuts, cuts[1:], strict=False)):
        piece = tmp_path / f"whole.zip.{index:03d}"
        piece.write_bytes(data[start:end])
        pieces.append(piece)
    with zipfile.ZipFile(_JoinedFiles(pieces)) as joined:
        assert joined.read("model/a.txt") == b"alpha " * 5000
        assert joined.read("model/b.bin") == bytes(range(256)) * 300


def test_unpacking_checks_the_weights_against_upstream(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real pieces, unpacked afresh: the weights' digest must be upstream's, and a wrong
    digest leaves nothing behind that a later load would take for the model."""
    target = mpnet_dir(tmp_path / "mpnet")
    assert sorted(p.name for p in target.iterdir()) == sorted(model_files.MPNET_FILES)
    assert (target / "model.safetensors").stat().st_size == 437_971_872  # and its digest checked
    monkeypatch.setattr("bot.rasa.nlu.model_files.MPNET_WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="not upstream"):
        mpnet_dir(tmp_path / "tampered")
    assert list(tmp_path.iterdir()) == [target]


def test_a_directory_unpacked_before_a_file_was_needed_gets_it_added(tmp_path: Path) -> None:
    """A venv unpacked before tokenizer.json joined MPNET_FILES: the missing file is added
    from the pieces, the others are left as they are, nothing partial stays behind."""
    target = tmp_path / "mpnet"
    target.mkdir()
    (target / "config.json").write_bytes((mpnet_dir() / "config.json").read_bytes())
    (target / "vocab.txt").write_text("[PAD]\n", encoding="utf-8")
    (target / "model.safetensors").write_bytes(b"kept as it is")
    assert mpnet_dir(target) == target
    names = sorted(p.name for p in target.iterdir())
    assert names == sorted([*model_files.MPNET_FILES, "vocab.txt"])
    assert (target / "model.safetensors").read_bytes() == b"kept as it is"
    tokenizer = json.loads((target / "tokenizer.json").read_text(encoding="utf-8"))
    assert tokenizer["model"]["type"] == "WordPiece"


def test_install_prepares_only_the_encoders_the_pipeline_uses() -> None:
    """`python -m bot.rasa.nlu.encoders` (make install) prepares configured_encoders(): today the
    crisis classifier's mpnet, which the out-of-scope gate shares by default."""
    from bot.rasa.nlu.crisis_classifier import CrisisClassifier
    from bot.rasa.nlu.out_of_scope_gate import OutOfScopeGate

    assert encoders.configured_encoders() == ["mpnet"]
    # the components' own defaults are the one configured_encoders() assumes for an unset key
    assert CrisisClassifier.get_default_config()["encoders"] == [encoders.DEFAULT_ENCODER]
    assert OutOfScopeGate.get_default_config()["encoder"] == encoders.DEFAULT_ENCODER
    # ENCODER_KEYS names components that are in the pipeline
    assert all(pipeline_entry(component) for component in encoders.ENCODER_KEYS)


def test_configured_encoders_reads_each_component_s_key(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = {
        "CrisisClassifier": {"encoders": ["minilm", "mpnet"]},
        "OutOfScopeGate": {},  # unset: the default
    }

    def entry(name: str) -> dict:
        if name not in entries:
            raise StopIteration  # as pipeline_entry does for a component not in the pipeline
        return entries[name]

    monkeypatch.setattr("bot.rasa.nlu.pipeline_entry", entry)
    assert encoders.configured_encoders() == ["minilm", "mpnet"]
    entries["CrisisClassifier"] = {"encoders": ["minilm"]}
    entries["OutOfScopeGate"] = {"encoder": "minilm"}
    assert encoders.configured_encoders() == ["minilm"]
    del entries["OutOfScopeGate"]
    assert encoders.configured_encoders() == ["minilm"]
