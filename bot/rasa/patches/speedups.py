"""Rasa 3.6.21 made cheaper in the Rasa server, each change leaving every result as it was.

spaCy's named entities: Rasa's SpacyNLP loads the spaCy pipeline without its parser but with
its entity recogniser, which nothing here reads (no entity extractor; the crisis rules use tags
and lemmas): about a tenth of the pipeline's time per message. In en_core_web_sm the
recogniser has its own token-to-vector layer and runs last, so the tags, lemmas and token
vectors the model reads are the same without it. `install()` loads the pipeline without it.

Faster validation of the action server's answers:

Rasa's `RemoteAction._validate_action_result` checks every answer of the action server with
`jsonschema.validate(result, schema)`. That function first checks the schema itself against the
JSON Schema metaschema, on every call, though the schema never changes: 19 of its 20 ms per
action call here, and with two or three action calls per message, a third of the Rasa server's
time under load (py-spy). `install()` swaps in the same check with one validator built once:
the same schema, the same validator class, the same error (`best_match`, as `validate` picks it)
with the same message Rasa adds. bot/rasa/channels.py installs it in the Rasa server process.

Loading the TensorFlow models (DIET, the response selector, TED) for serving:

`RasaModel.load` builds each model by training it for one step on an example (`model.fit`), only
to create its variables, then overwrites them with the saved weights: tracing the training step
took 22 of the Rasa server's 51 s start-up (py-spy). For serving, `install()` skips that step:
the saved weights are read first and TensorFlow restores each variable as the model creates it
(its deferred restoration), which the prediction Rasa already runs on an example does. The
optimizer's state in the file is left unread (nothing serves with it). Fine-tuning (and a load
without a prediction example) goes through Rasa's own method.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from rasa.core.actions.action import RemoteAction
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.constants import DOCS_BASE_URL
from rasa.utils.tensorflow.models import RasaModel

# Rasa's own methods, kept for the tests that compare
RASA_VALIDATE_ACTION_RESULT = RemoteAction._validate_action_result
RASA_LOAD_SPACY = SpacyNLP.load_model
RASA_MODEL_LOAD = RasaModel.load


@lru_cache(maxsize=1)
def action_result_validator() -> Validator:
    """The validator `jsonschema.validate` would build for RemoteAction's schema, built once."""
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result without re-checking the schema on each call."""
    error = best_match(action_result_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def load_spacy_without_entities(spacy_model_name: str) -> SpacyModel:
    """SpacyNLP.load_model, with the entity recogniser left out as well as the parser."""
    model = RASA_LOAD_SPACY(spacy_model_name)
    if "ner" in model.model.pipe_names:
        model.model.disable_pipe("ner")
    return model


def load_model_for_serving(
    cls: type[RasaModel],
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """RasaModel.load without the training step that only creates the variables."""
    if finetune_mode or not predict_data_example:
        return RASA_MODEL_LOAD.__func__(  # type: ignore[attr-defined]
            cls,
            model_file_name,
            model_data_example,
            predict_data_example,
            finetune_mode,
            *args,
            **kwargs,
        )
    model = cls(*args, **kwargs)
    # restored as each variable is created; the optimizer's slots stay in the file
    model.load_weights(model_file_name).expect_partial()
    model.run_inference(predict_data_example)
    return model


def install() -> None:
    """Use validate_action_result for every RemoteAction in this process, load spaCy pipelines
    without their entity recogniser and TensorFlow models without a training step."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    SpacyNLP.load_model = staticmethod(load_spacy_without_entities)  # type: ignore[method-assign]
    RasaModel.load = classmethod(load_model_for_serving)  # type: ignore[method-assign,assignment]
