"""The spaCy crisis rule layer: catches crisis language, ignores figures of speech."""

from __future__ import annotations

from functools import lru_cache

import pytest
import spacy
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.crisis_matcher import CrisisMatcher, CrisisRules, load_rules
from bot.settings import REPO_ROOT


@lru_cache(maxsize=1)
def nlp() -> spacy.language.Language:
    """The same spaCy model Rasa's SpacyNLP loads (path from config.yml)."""
    config = yaml.safe_load((REPO_ROOT / "config.yml").read_text())
    path = next(c["model"] for c in config["pipeline"] if c["name"] == "SpacyNLP")
    return spacy.load(REPO_ROOT / path)


CRISIS = [
    ("i want to kill myself", "suicidal"),
    ("I'm going to KMS tonight", "suicidal"),
    ("i dont wanna live anymore", "suicidal"),
    ("I don't want to be alive", "suicidal"),
    ("thinking about ending it all", "suicidal"),
    ("i have a plan to end it", "suicidal"),
    ("everyone would be better off without me", "suicidal"),
    ("I've been feeling suicidal", "suicidal"),
    ("i feel sucidal", "suicidal"),
    ("i want to die", "suicidal"),
    ("i just wanna die", "suicidal"),
    ("I wrote goodbye letters to my kids", "suicidal"),
    ("i'm going to jump off the bridge", "suicidal"),
    ("I started cutting myself again", "self_harm"),
    ("i burned myself on purpose", "self_harm"),
    ("my friend is od'ing", "overdose"),
    ("I think he OD'd", "overdose"),
    ("she's overdosing right now", "overdose"),
    ("i took a whole bottle of pills", "overdose"),
    ("my brother isn't breathing", "overdose"),
    ("he won't wake up and his lips are blue", "overdose"),
    ("I'm going to hurt him", "harm_others"),
    ("i want to kill my roommate", "harm_others"),
    ("my boyfriend hits me and I'm scared to go home", "domestic_violence"),
    ("he choked me last night", "domestic_violence"),
    ("I stopped drinking and now I'm having a seizure", "withdrawal"),
    ("i keep seeing things that aren't there since i quit", "withdrawal"),
    ("im hallucinating bad since i stopped drinking", "withdrawal"),
    ("he is beating me again", "domestic_violence"),
    ("i'm going to poison him", "harm_others"),
    ("my roommate is barely breathing", "overdose"),
    ("she was choking me until I almost passed out", "domestic_violence"),
    ("i'm hiding from him in the closet", "domestic_violence"),
    ("I'm going to make him bleed", "harm_others"),
    ("since i quit drinking my heart is racing and i'm shaking uncontrollably", "withdrawal"),
    ("i won't be around much longer", "suicidal"),
    ("really bad chest pain since I stopped the pills", "withdrawal"),
]

BENIGN = [
    "this schedule is killing me",
    "I'm dying to know how much it costs",
    "I killed it at work today",
    "my boss is going to kill me if I'm late",
    "I killed myself laughing at that movie",
    "I overdosed on coffee this morning",
    "what happens if someone relapses",
    "do you treat people who have overdosed in the past?",
    "is the program a good fit for someone with depression",
    "the traffic is murder",
    "I could eat a horse",
    "my phone died",
    "that joke killed",
    "do you do drug testing",
    "how long does the program last",
    "I want to stop drinking",
    "I live with my partner, can he come to family sessions",
    "i'm scared about group therapy",
    "what is dual diagnosis",
    "I'm tired of cutting corners at work",
    "we need to cut costs",
    "can I keep my job while in the program",
    "I never wake up on time",
    "I'd die for a good pizza",
    "my plan is to enroll next month",
    "I want to end my subscription",
    "They cut my hours at work so I need evening sessions",
    "my cousin is going to shoot my sister's wedding photos",
    "does the program cover suicide prevention?",
    "can someone with a history of suicidal thoughts join?",
    "my dog had a seizure last year and is fine now",
    "is there a group for people who self-harm?",
    "my cat is hiding from the vacuum",
]


@pytest.fixture(scope="module")
def rules() -> CrisisRules:
    return load_rules()


@pytest.mark.parametrize(("text", "category"), CRISIS)
def test_crisis_language_matches(rules: CrisisRules, text: str, category: str) -> None:
    match = rules.find(nlp()(text))
    assert match is not None, text
    assert match.category == category


@pytest.mark.parametrize("text", BENIGN)
def test_figures_of_speech_do_not_match(rules: CrisisRules, text: str) -> None:
    assert rules.find(nlp()(text)) is None


def test_component_overrides_the_classifier(tmp_path) -> None:
    """As a Rasa graph component: whatever DIET said, a match becomes intent `crisis`."""
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    component = CrisisMatcher.create(
        CrisisMatcher.get_default_config(), storage, Resource("crisis"), context
    )
    messages = []
    for text, predicted in [("i have a plan to end it", "faq"), ("what is iop", "faq")]:
        message = Message(data={"text": text})
        message.set(SPACY_DOCS["text"], nlp()(text))
        message.set("intent", {"name": predicted, "confidence": 0.97})
        message.set("intent_ranking", [{"name": predicted, "confidence": 0.97}])
        messages.append(message)

    crisis, benign = component.process(messages)

    assert crisis.get("intent") == {"name": "crisis", "confidence": 1.0}
    assert crisis.get("intent_ranking")[0]["name"] == "crisis"
    assert crisis.get("crisis_match")["category"] == "suicidal"
    assert benign.get("intent")["name"] == "faq"
    assert benign.get("crisis_match") is None


def test_an_exclusion_vetoes_only_the_match_it_overlaps(rules: CrisisRules) -> None:
    text = "I killed myself laughing at that show, but honestly I want to kill myself"
    match = rules.find(nlp()(text))
    assert match is not None and match.matched_text == "kill myself"
