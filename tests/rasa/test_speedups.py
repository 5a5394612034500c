"""bot/rasa/patches/speedups.py checks the action server's answers as Rasa does."""

from __future__ import annotations

import pytest
import yaml
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import bot.rasa.channels  # noqa: F401  (the Rasa server imports it; it installs the patches)
from bot.rasa.patches.speedups import RASA_VALIDATE_ACTION_RESULT, validate_action_result
from bot.settings import REPO_ROOT

ACTION = RemoteAction("validate_preassessment_form", None)
VALID = [
    {"events": [], "responses": []},
    {},
    {
        "events": [
            {"event": "slot", "timestamp": None, "name": "mood", "value": 4},
            {"event": "slot", "timestamp": None, "name": "requested_slot", "value": "craving"},
            {"event": "active_loop", "timestamp": None, "name": "checkin_form"},
            {"event": "followup", "timestamp": None, "name": "action_listen"},
        ],
        "responses": [{"text": "How strong?", "buttons": [{"title": "2", "payload": "2"}]}],
    },
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "value": 1}]},  # a slot event needs the slot's name
    {"events": [{"event": "user", "text": 3}]},
    {"responses": "hi"},
    {"responses": ["not an object"]},
    [],
    # two errors: the one reported is jsonschema's best match (on `responses`), not the first
    {"events": [{"event": "slot", "value": 1}], "responses": "hi"},
]


def test_the_rasa_server_uses_it() -> None:
    assert RemoteAction._validate_action_result is validate_action_result
    # installed by bot.rasa.channels, which the Rasa server imports for every channel it runs
    channels = yaml.safe_load((REPO_ROOT / "credentials.yml").read_text())
    assert channels and all(name.startswith("bot.rasa.channels.") for name in channels)


@pytest.mark.parametrize("answer", VALID)
def test_valid_answers_pass_both(answer: dict) -> None:
    assert RASA_VALIDATE_ACTION_RESULT(ACTION, answer) is True
    assert validate_action_result(ACTION, answer) is True


@pytest.mark.parametrize("answer", INVALID)
def test_invalid_answers_fail_both_with_the_same_error(answer: object) -> None:
    with pytest.raises(ValidationError) as rasa_error:
        RASA_VALIDATE_ACTION_RESULT(ACTION, answer)
    with pytest.raises(ValidationError) as our_error:
        validate_action_result(ACTION, answer)
    assert our_error.value.message == rasa_error.value.message
    assert list(our_error.value.path) == list(rasa_error.value.path)
    assert "Failed to validate Action server response" in our_error.value.message


def test_spacy_loads_without_the_entity_recogniser_and_reads_the_same() -> None:
    """Tags, lemmas and token vectors (what the tokenizer, featurizers and crisis rules read)
    are the same without the recogniser Rasa leaves on."""
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    from bot.rasa.patches.speedups import RASA_LOAD_SPACY, load_spacy_without_entities

    name = yaml.safe_load((REPO_ROOT / "config.yml").read_text())["pipeline"][0]["model"]
    assert SpacyNLP.load_model is load_spacy_without_entities
    lean = load_spacy_without_entities(str(REPO_ROOT / name)).model
    full = RASA_LOAD_SPACY(str(REPO_ROOT / name)).model
    assert "ner" not in lean.pipe_names and "ner" in full.pipe_names
    assert {"tok2vec", "tagger", "lemmatizer"} <= set(lean.pipe_names)
    for text in ["I OD'd on my meds last night", "what time is group? also kms", "Hi there!"]:
        a, b = lean(text), full(text)
        assert [(t.tag_, t.lemma_, t.pos_) for t in a] == [(t.tag_, t.lemma_, t.pos_) for t in b]
        assert (a.tensor == b.tensor).all()
        assert [t.vector.tolist() for t in a] == [t.vector.tolist() for t in b]


def test_tensorflow_models_load_the_same_weights_without_the_training_step(
    model_path, tmp_path
) -> None:
    """DIET, the response selector and TED loaded for serving hold exactly the weights Rasa's own
    load gives them (which trains one step to create the variables, then overwrites them)."""
    import numpy as np
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    from rasa.utils.tensorflow.models import RasaModel

    from bot.rasa.patches.speedups import RASA_MODEL_LOAD, load_model_for_serving

    assert RasaModel.load.__func__ is load_model_for_serving
    storage, metadata = LocalModelStorage.from_model_archive(tmp_path, model_path)
    schema = metadata.predict_schema
    nodes = [n for n in schema.nodes.values() if issubclass(n.uses, (DIETClassifier, TEDPolicy))]
    # DIET, the response selector (a DIETClassifier subclass) and TED
    assert len(nodes) == 3

    def weights(node, load) -> dict[str, np.ndarray]:
        config = {**node.uses.get_default_config(), **node.config}
        context = ExecutionContext(schema, metadata.model_id)
        RasaModel.load = classmethod(load)
        try:
            component = node.uses.load(config, storage, node.resource, context)
        finally:
            RasaModel.load = classmethod(load_model_for_serving)
        return {w.name: w.numpy() for w in component.model.weights}

    for node in nodes:
        served = weights(node, load_model_for_serving)
        rasas = weights(node, RASA_MODEL_LOAD.__func__)
        assert served.keys() == rasas.keys() and len(served) > 10, node.uses.__name__
        for name, value in served.items():
            assert np.array_equal(value, rasas[name]), (node.uses.__name__, name)
