"""What hostile clients send: any JSON, near-valid chat messages, odd text."""

from __future__ import annotations

from hypothesis import strategies as st

from bot.settings import MAX_MESSAGE_CHARS, MAX_SENDER_CHARS

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)

# Text a person, a script or an attacker might type: words, Rasa's intent syntax, markup,
# control characters, surrogates-free unicode, lengths around the limits.
odd_text = st.one_of(
    st.text(min_size=1, max_size=120),
    st.sampled_from(["/", "//", "/crisis", '/crisis{"x": 1}', "/restart", "/affirm", "\x00"]).map(
        str
    ),
    st.builds(
        lambda prefix, body: prefix + body,
        st.sampled_from(["/", "/greet{", "<script>", "{{", "%s", "\r\n", " "]),
        st.text(max_size=80),
    ),
    # one long clause: a message of many sentences is slow to score (a known limit, README)
    st.text(alphabet="ab ", min_size=MAX_MESSAGE_CHARS - 2, max_size=MAX_MESSAGE_CHARS + 2),
)

senders = st.one_of(
    st.text(min_size=1, max_size=MAX_SENDER_CHARS + 4),
    st.uuids().map(lambda u: f"fuzz-{u.hex}"),
    json_values,
)

metadata = st.one_of(
    st.none(),
    json_values,
    st.fixed_dictionaries(
        {"participant_token": st.one_of(st.text(max_size=80), json_values)},
        optional={"lang": st.text(max_size=5)},
    ),
)

chat_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"sender": senders, "message": st.one_of(odd_text, json_values)},
        optional={"metadata": metadata},
    ),
)
