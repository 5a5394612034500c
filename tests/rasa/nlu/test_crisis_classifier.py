"""The embedding crisis classifier: its data, its model, and its decisions in the pipeline."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa.nlu import pipeline_entry
from bot.rasa.nlu.crisis_classifier import (
    CORPUS_FILE,
    SCORE_KEY,
    CrisisModel,
    _withdraw_crisis,
    clauses,
    corpus_paths,
    default_gamma,
    load_labelled,
    training_texts,
)
from bot.rasa.nlu.crisis_matcher import set_crisis
from bot.rasa.nlu.encoders import load_encoder
from bot.settings import REPO_ROOT
from tests.conftest import run_async


def test_clauses_split_a_buried_crisis_from_the_question_before_it() -> None:
    text = "what time is group tomorrow? also i have the pills lined up"
    assert clauses(text) == [text, "what time is group tomorrow?", "also i have the pills lined up"]
    assert clauses("ok, and I'm safe") == ["ok, and I'm safe"]  # "ok" is no clause
    assert clauses("i want to die") == ["i want to die"]


def test_labelled_files_in_both_shapes(tmp_path: Path) -> None:
    by_kind = tmp_path / "a.yml"
    by_kind.write_text('crisis:\n  overdose:\n  - "he is blue"\nbenign:\n- "blue jeans"\n')
    listed = tmp_path / "b.yml"
    listed.write_text(
        'crisis:\n- text: "he is blue"\n  kind: overdose\nbenign:\n- text: "blue jeans"\n'
    )
    assert (
        load_labelled(by_kind)
        == load_labelled(listed)
        == ([("he is blue", "overdose")], ["blue jeans"])
    )


def test_training_texts_label_crisis_over_benign_and_merge_corpora(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.yml"
    corpus.write_text('crisis:\n  suicidal:\n  - "same text"\nbenign:\n- "same text"\n- "a walk"\n')
    data = TrainingData(
        [
            Message(data={"text": "i want to die", "intent": "crisis"}),
            Message(data={"text": "what is iop", "intent": "faq"}),
            Message(data={"text": "a walk", "intent": "chitchat"}),
        ]
    )
    texts, labels = training_texts(data, [corpus])
    assert dict(zip(texts, labels.tolist(), strict=True)) == {
        "a walk": 0,
        "i want to die": 1,
        "same text": 1,
        "what is iop": 0,
    }


def test_shipped_corpus_has_every_crisis_kind_and_many_look_alikes() -> None:
    crisis, benign = load_labelled(REPO_ROOT / CORPUS_FILE)
    kinds = {kind for _, kind in crisis}
    assert kinds == {
        "suicidal",
        "self_harm",
        "overdose",
        "harm_others",
        "domestic_violence",
        "withdrawal",
    }
    assert len(crisis) >= 300 and len(benign) >= 400


def test_the_blind_sets_are_never_trained_on() -> None:
    """blind5 and blind8 to blind13 are the honest figures: no corpus in config.yml may hold
    them."""
    entry = pipeline_entry("CrisisClassifier")
    names = {p.name for p in corpus_paths(entry)}
    honest = {"blind5.yml", *(f"blind{n}.yml" for n in range(8, 14))}
    assert not names & honest
    assert all(p.exists() for p in corpus_paths(entry))


SMALL_TEXTS = ["i want to kill myself", "what time is group", "my cravings are bad", "unseen words"]


@lru_cache(maxsize=2)
def small_model(embedding_weight: float = 1.0, gamma: float = 1.0) -> CrisisModel:
    crisis = [
        "i want to kill myself",
        "i am going to end my life tonight",
        "he took all his pills and is not breathing",
        "my husband is choking me",
        "i have a knife and i'm going to hurt him",
        "i am cutting myself right now",
    ]
    benign = [
        "what time is group",
        "this traffic is killing me",
        "how much does the program cost",
        "i'm dying to know the schedule",
        "my craving is 3 today",
        "do you take medicaid",
        "can my family join a session",
        "i killed it at work today",
    ]
    return CrisisModel(embedding_weight=embedding_weight).fit(
        crisis + benign, np.array([1] * len(crisis) + [0] * len(benign)), gamma=gamma
    )


def test_model_scores_crisis_above_benign_and_takes_the_worst_clause() -> None:
    model = small_model()
    buried_text = "what time does group start? also i want to end my life"
    crisis, benign, buried = model.score(
        ["i want to end my life", "what time does group start", buried_text]
    )
    assert crisis > benign
    assert buried == pytest.approx(max(model.score(clauses(buried_text))))
    assert buried > model.score(["what time does group start"])[0]


def test_a_training_text_repeated_word_for_word_gets_its_label() -> None:
    model = small_model()
    assert model.score(["What time is group?", "I want to kill myself!!"]).tolist() == [0.0, 1.0]
    assert 0.0 < model.score(["what time is group and where"])[0] < 1.0  # not known: scored


@pytest.mark.parametrize("weight, gamma", [(1.0, 1.0), (3.0, 0.5)])
def test_the_fast_margin_is_the_svms_own(weight: float, gamma: float) -> None:
    """CrisisModel.decision replaces libsvm's decision_function on the hot path: same numbers."""
    model = small_model(weight, gamma)
    features = model._features(SMALL_TEXTS)
    assert np.allclose(model.decision(features), model.svm.decision_function(features))


def test_the_default_kernel_is_scikit_learns_scale() -> None:
    from sklearn.svm import SVC

    model = small_model()
    features = model._features(SMALL_TEXTS)
    reference = SVC(gamma="scale").fit(features, np.array([1, 0, 0, 0]))
    assert default_gamma(features) == pytest.approx(reference._gamma)


def test_the_kernel_weighs_the_embedding_distance_and_scales_its_width() -> None:
    """exp(-g * scale * (w * |embedding distance|^2 + |n-gram distances|^2))."""
    plain, weighted = small_model(), small_model(3.0, 0.5)
    width = (
        plain.chars.transform(SMALL_TEXTS).shape[1] + plain.words.transform(SMALL_TEXTS).shape[1]
    )
    one, three = plain._features(SMALL_TEXTS).toarray(), weighted._features(SMALL_TEXTS).toarray()
    dense = one.shape[1] - width
    assert np.allclose(three[:, :dense], np.sqrt(3.0) * one[:, :dense])
    assert np.allclose(three[:, dense:], one[:, dense:])
    assert weighted.svm._gamma == pytest.approx(0.5 * plain.svm._gamma)
    assert not np.allclose(weighted.score(SMALL_TEXTS), plain.score(SMALL_TEXTS))


@pytest.mark.parametrize("weight, gamma", [(1.0, 1.0), (3.0, 0.5)])
def test_model_survives_a_save_and_load_without_pickle(
    tmp_path: Path, weight: float, gamma: float
) -> None:
    model = small_model(weight, gamma)
    model.save(tmp_path / "model.skops")
    loaded = CrisisModel.load(tmp_path / "model.skops")
    texts = ["i want to kill myself", "what time is group", "i feel like ending it"]
    assert np.allclose(loaded.score(texts), model.score(texts))
    assert loaded.known == model.known
    assert loaded.embedding_weight == weight


class Smuggled:
    """Stands for any type a tampered model file could ask skops to rebuild."""


def test_loading_refuses_unexpected_types(tmp_path: Path) -> None:
    import skops.io as sio

    sio.dump({"svm": Smuggled(), "chars": None, "words": None, "known": {}}, tmp_path / "x.skops")
    with pytest.raises(ValueError, match="unexpected types"):
        CrisisModel.load(tmp_path / "x.skops")


def parsed(intent: str, ranking: list[tuple[str, float]]) -> Message:
    message = Message(data={"text": "x"})
    message.set("intent", {"name": intent, "confidence": ranking[0][1] if ranking else 1.0})
    message.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking])
    return message


def test_withdrawn_crisis_falls_back_to_diet_s_confident_next_guess() -> None:
    message = parsed("crisis", [("crisis", 0.4), ("faq", 0.55), ("greet", 0.05)])
    _withdraw_crisis(message)
    assert message.get("intent")["name"] == "faq"
    assert [r["name"] for r in message.get("intent_ranking")] == ["faq", "greet"]


def test_withdrawn_crisis_without_a_confident_guess_is_the_fallback() -> None:
    message = parsed("nlu_fallback", [("nlu_fallback", 0.5), ("crisis", 0.45), ("faq", 0.3)])
    _withdraw_crisis(message)
    assert message.get("intent")["name"] == "nlu_fallback"
    assert "crisis" not in [r["name"] for r in message.get("intent_ranking")]


def test_other_intents_are_left_alone_and_a_crisis_is_set_first() -> None:
    message = parsed("faq", [("faq", 0.9), ("crisis", 0.1)])
    _withdraw_crisis(message)
    assert message.get("intent")["name"] == "faq"
    set_crisis(message, 0.93)
    assert message.get("intent") == {"name": "crisis", "confidence": 0.93}
    assert [r["name"] for r in message.get("intent_ranking")] == ["crisis", "faq"]


def parse(agent, text: str) -> dict:
    return run_async(agent.parse_message(text))


@pytest.mark.parametrize(
    "text",
    [
        # wordings no rule lists: the classifier, not the rules, must catch them
        "the bath is running and the razor is on the edge of the tub, this is goodbye",
        "can you move my intake to friday? also the car is running in the closed garage",
        "my brother swallowed a whole bottle of his sleeping meds and he won't answer me",
    ],
)
def test_trained_pipeline_escalates_paraphrases_the_rules_do_not_know(agent, text: str) -> None:
    result = parse(agent, text)
    assert result["intent"]["name"] == "crisis"
    assert result[SCORE_KEY] >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "my husband beat me at cards last night",
        "i'm going to hit the gym tonight instead of the bar",
        "my knife skills class was great, we learned to dice onions",
        "I want to stop",
    ],
)
def test_trained_pipeline_does_not_escalate_look_alikes(agent, text: str) -> None:
    """Look-alikes, and a stop request (scored 0.52 before training texts kept their label)."""
    result = parse(agent, text)
    assert result["intent"]["name"] != "crisis"
    assert result[SCORE_KEY] < 0.5


def test_rule_match_escalates_whatever_the_classifier_scores(agent) -> None:
    result = parse(agent, "kms")
    assert result["intent"]["name"] == "crisis"
    assert result["crisis_match"]["category"] == "suicidal"
    assert SCORE_KEY in result


def test_a_long_message_escalates_from_its_own_threshold(tmp_path: Path) -> None:
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from bot.rasa.nlu.crisis_classifier import CrisisClassifier

    config = {**CrisisClassifier.get_default_config(), "long_threshold": 0.6, "long_chars": 20}
    component = CrisisClassifier(config, LocalModelStorage(tmp_path), Resource("c"))
    assert component.threshold_for("short message") == 0.5
    assert component.threshold_for("a message well over twenty characters") == 0.6
    plain = CrisisClassifier(
        CrisisClassifier.get_default_config(), LocalModelStorage(tmp_path), Resource("d")
    )
    assert plain.threshold_for("x" * 1000) == 0.5  # no long_threshold: one threshold


def test_the_whole_text_embedding_is_handed_on_for_the_gate() -> None:
    model = small_model()
    texts = ["what time does group start? also i want to end my life", "i want to kill myself"]
    scores, embedded = model.score_and_embed(texts)
    np.testing.assert_allclose(scores, model.score(texts))
    assert 1 not in embedded  # a training text word for word: its label, no encoder pass
    np.testing.assert_allclose(
        embedded[0]["mpnet"], load_encoder("mpnet").encode([texts[0]])[0], atol=1e-5
    )
