"""The staff app under hostile requests: any path, query, header and body under /api and the
pages gets a 4xx or a page, never a 5xx, and no record without a token or login."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.apps.staff.conftest import make_app, make_token
from tests.fuzz.conftest import FUZZ
from tests.fuzz.strategies import json_values

ROUTES = [
    "/api/flags",
    "/api/assessments",
    "/api/participants/{n}/checkins",
    "/api/audit",
    "/api/{s}",
    "/flags/{n}",
    "/participants/{n}",
    "/assessments/{n}",
    "/participants/{n}/checkins.csv",
    "/{s}",
]

numbers = st.one_of(st.integers(min_value=-(2**80), max_value=2**80).map(str), st.text(max_size=30))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    from bot.db.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz-staff') / 'iop.db'}"
    upgrade(url)
    app = make_app(url, TESTING=False, PROPAGATE_EXCEPTIONS=False)
    return app.test_client(), make_token(url, "fuzz", "admin")


@FUZZ
@given(
    route=st.sampled_from(ROUTES),
    number=numbers,
    segment=st.text(max_size=30),
    query=st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=3),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    authorization=st.one_of(st.none(), st.just("valid"), st.text(max_size=60), st.just("Bearer ")),
    body=json_values,
)
def test_no_request_makes_the_staff_app_fail(
    client, route, number, segment, query, method, authorization, body
) -> None:
    test_client, token = client
    path = route.format(n=quote(number, safe=""), s=quote(segment, safe=""))
    headers = {}
    if authorization == "valid":
        headers["Authorization"] = f"Bearer {token}"
    elif authorization is not None:
        # what HTTP can carry: no line breaks in a header (the test client refuses them)
        value = authorization.encode("latin-1", "replace").decode("latin-1")
        headers["Authorization"] = value.replace("\r", " ").replace("\n", " ")
    answer = test_client.open(path, method=method, query_string=query, headers=headers, json=body)
    assert answer.status_code < 500, (method, path, answer.status_code)
    if authorization != "valid" and path.startswith("/api"):
        assert answer.status_code in (401, 404, 405), (method, path)
    if not path.startswith("/api") and answer.status_code == 200:
        assert path in ("/login", "/healthz") or path.startswith("/static/")
