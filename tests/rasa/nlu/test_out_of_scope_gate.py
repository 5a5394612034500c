"""The out-of-scope gate: neighbours on sentence embeddings decide what is off topic."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu.crisis_classifier import embedding_key
from bot.rasa.nlu.crisis_matcher import CLASSIFIER_SCORE_KEY
from bot.rasa.nlu.out_of_scope_gate import GATE_SCORE_KEY, Bank, OutOfScopeGate


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


# Two in-scope examples near (1, 0, 0) (one of them FAQ), two off-topic ones near (0, 1, 0).
BANK = Bank(
    np.vstack([unit(1, 0.1, 0), unit(1, 0, 0.1), unit(0.1, 1, 0), unit(0, 1, 0.1)]),
    np.array([False, False, True, True]),
    np.array([True, False, False, False]),
)


def gate(tmp_path, **config) -> OutOfScopeGate:
    settings = {**OutOfScopeGate.get_default_config(), "k": 2, **config}
    return OutOfScopeGate(settings, LocalModelStorage(tmp_path), Resource("gate"), BANK)


def message(intent: str, vector: np.ndarray, crisis_score: float = 0.1) -> Message:
    m = Message(data={TEXT: "some text"})
    m.set(INTENT, {"name": intent, "confidence": 0.95})
    m.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": 0.95}])
    m.set(CLASSIFIER_SCORE_KEY, crisis_score)
    m.set(embedding_key("mpnet"), vector)
    return m


def intent_of(m: Message) -> str:
    return m.get(INTENT)["name"]


def test_bank_scores_the_off_topic_share_of_the_nearest() -> None:
    share, faq_best = BANK.score(np.vstack([unit(1, 0, 0), unit(0, 1, 0)]), k=2)
    assert share[0] == pytest.approx(0.0) and share[1] == pytest.approx(1.0)
    assert faq_best[0] > 0.99 and faq_best[1] < 0.2


def test_a_message_near_off_topic_examples_is_rejected_and_keeps_its_ranking(tmp_path) -> None:
    near_in, near_off = message("faq", unit(1, 0, 0)), message("faq", unit(0, 1, 0))
    gate(tmp_path).process([near_in, near_off])
    assert intent_of(near_in) == "faq" and near_in.get(GATE_SCORE_KEY) == 0.0
    assert intent_of(near_off) == "out_of_scope"
    assert [r["name"] for r in near_off.get(INTENT_RANKING_KEY)] == ["out_of_scope", "faq"]


def test_an_faq_answer_needs_an_faq_example_near_enough(tmp_path) -> None:
    # in-scope neighbours, but only the non-FAQ one is close: no FAQ answer from far away
    far_from_faq = message("faq", unit(1, -0.9, 1.2))
    gate(tmp_path, faq_floor=0.9).process([far_from_faq])
    assert intent_of(far_from_faq) == "out_of_scope"


@pytest.mark.parametrize("intent", ["crisis", "affirm", "deny", "inform", "stop", "ask_why"])
def test_crises_and_form_answers_are_never_gated(tmp_path, intent: str) -> None:
    m = message(intent, unit(0, 1, 0))
    gate(tmp_path).process([m])
    assert intent_of(m) == intent


def test_the_safety_band_is_left_to_the_safety_question(tmp_path) -> None:
    m = message("faq", unit(0, 1, 0), crisis_score=0.45)
    gate(tmp_path).process([m])
    assert intent_of(m) == "faq"


@pytest.mark.parametrize("intent", ["nlu_fallback", "out_of_scope"])
def test_a_worrying_message_gets_distress_instead_of_a_fallback(tmp_path, intent: str) -> None:
    worrying, calm = message(intent, unit(0, 1, 0), 0.42), message(intent, unit(1, 0, 0), 0.2)
    gate(tmp_path).process([worrying, calm])
    assert intent_of(worrying) == "distress"
    assert intent_of(calm) == intent


def test_the_gate_embeds_a_message_the_crisis_classifier_did_not(tmp_path, monkeypatch) -> None:
    class Encoder:
        def encode(self, texts):
            return np.vstack([unit(0, 1, 0) for _ in texts])

    monkeypatch.setattr("bot.rasa.nlu.out_of_scope_gate.load_encoder", lambda name: Encoder())
    m = message("greet", unit(1, 0, 0))
    m.set(embedding_key("mpnet"), None)
    gate(tmp_path).process([m])
    assert intent_of(m) == "out_of_scope"


def test_bank_survives_the_model_archive(tmp_path, monkeypatch) -> None:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    storage = LocalModelStorage(tmp_path)
    resource = Resource("gate")
    config = {**OutOfScopeGate.get_default_config(), "k": 2}
    examples = [
        Message(data={TEXT: "what is iop", INTENT: "faq"}),
        Message(data={TEXT: "what's the weather", INTENT: "out_of_scope"}),
        Message(data={TEXT: "i want to die", INTENT: "crisis"}),  # never in the bank
    ]
    trained = OutOfScopeGate(config, storage, resource)

    def fake_encode(name, texts):
        return np.vstack([unit(1, 0, 0) if "iop" in t else unit(0, 1, 0) for t in texts])

    monkeypatch.setattr("bot.rasa.nlu.out_of_scope_gate.cached_encode", fake_encode)
    trained.train(TrainingData(examples))
    loaded = OutOfScopeGate.load(config, storage, resource, None)
    assert loaded._bank is not None and len(loaded._bank.vectors) == 2
    assert loaded._bank.off_topic.tolist() == [False, True]
    assert loaded._bank.faq.tolist() == [True, False]


def test_the_shipped_gate_never_rejects_a_crisis_a_person_or_a_craving(tmp_path) -> None:
    from bot.rasa.nlu import pipeline_entry
    from bot.rasa.policies import configured_floor

    entry = pipeline_entry("OutOfScopeGate")
    assert {"crisis", "request_human", "craving_now"} <= set(entry["ungated"])
    # the gate stands aside exactly where the safety question takes over
    assert entry["safety_floor"] == configured_floor()
    shipped = gate(tmp_path, **{k: v for k, v in entry.items() if k != "name"})
    for intent in ("crisis", "request_human", "craving_now"):
        m = message(intent, unit(0, 1, 0))
        shipped.process([m])
        assert intent_of(m) == intent
