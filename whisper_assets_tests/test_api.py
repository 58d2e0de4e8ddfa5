"""The memory HTTP API (FastAPI TestClient) and the `ask` / `facts` / `serve` commands."""

from __future__ import annotations

from datetime import date
from typing import Iterator

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from whisper_assets.interfaces.api import create_app
from whisper_assets.interfaces.cli.memory import ANSWER_SYSTEM_PROMPT, memory_app
from whisper_assets.core.embedding import get_embedder
from whisper_assets.core.settings import Settings, load_settings
from whisper_assets.stores.postgres import get_engine
from whisper_assets_tests.conftest import _create_db, _url_for
from whisper_assets_tests.llm_stub import Reply, StubLLMServer
from whisper_assets_tests.test_retrieval import Corpus, add_fact

NOW = "2025-11-12T15:00:00Z"
runner = CliRunner()


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory, pg_admin, _created_dbs, _template_db) -> Iterator[Settings]:
    url = _url_for(_create_db(pg_admin, _created_dbs, template=_template_db))
    settings = load_settings(data_dir=tmp_path_factory.mktemp("api") / "whisper", database_url=url)
    engine = get_engine(settings)
    corpus = Corpus(get_embedder())
    with engine.begin() as conn:
        add_fact(conn, "elena", "user_1", "occupation", "works as a nurse", 0.9)
        add_fact(conn, "elena", "user_1", "pet", "has a dog named Biscuit", 0.9)
        add_fact(conn, "elena", "user_1", "location", "lives in Portland", 0.8)
        add_fact(conn, "elena", "user_10", "pet", "has a parrot named Kiwi", 0.99)
        corpus.add(conn, "elena", "user_1", date(2025, 11, 11),
                   "The user is training for the Lisbon marathon and their knee hurts after long runs.")
        corpus.add(conn, "elena", "user_1", date(2025, 11, 5), "The user adopted a kitten named Miso.")
        corpus.add(conn, "elena", "user_10", date(2025, 11, 11), "The user talked about marathon training too.")
    yield settings
    engine.dispose()


@pytest.fixture(scope="module")
def client(api_settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as c:  # the lifespan loads the model once
        yield c


def get(client, path="/recall", **params):
    return client.get(path, params=params)


# -- /recall -----------------------------------------------------------------------------------------

def test_recall_get(client):
    r = get(client, bot="elena", user="user_1", query="what did we talk about yesterday?", now=NOW)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["time_range"]["phrase"] == "yesterday"
    assert [s["day"] for s in body["summaries"]] == ["2025-11-11"]
    assert body["summaries"][0]["provenance"]["partitions"] == ["elena|2025-11-11"]
    assert len(body["summaries"][0]["provenance"]["source_message_ids"]) == 3
    assert "Conversations \"yesterday\" (2025-11-11):" in body["context"]
    assert {f["fact"] for f in body["facts"]} == {"works as a nurse", "has a dog named Biscuit", "lives in Portland"}


def test_recall_post_semantic_and_tz(client):
    r = client.post("/recall", json={"bot": "elena", "user": "user_1", "query": "how is my marathon training?",
                                     "now": "2025-11-12T03:00:00Z", "tz": "America/Los_Angeles", "limit": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["semantic"] == "postgres" and body["related"][0]["day"] == "2025-11-11"
    assert body["tz"] == "America/Los_Angeles" and body["facts"] == []  # none bears on the question
    assert "as of 2025-11-11 19:00 America/Los_Angeles" in body["context"]
    assert "parrot" not in r.text and "too" not in body["context"]  # user_10's
    r = client.post("/recall", json={"bot": "elena", "user": "user_1", "query": "what do you know about me?",
                                     "now": "2025-11-12T03:00:00Z", "limit": 2})
    assert r.status_code == 200 and len(r.json()["facts"]) == 2


def test_recall_naive_now_is_read_in_tz(client):
    r = get(client, bot="elena", user="user_1", query="yesterday", now="2025-11-11T19:00:00",
            tz="America/Los_Angeles")
    assert r.status_code == 200
    assert r.json()["time_range"]["first_day"] == "2025-11-10"


def test_unknown_user_is_empty(client):
    r = get(client, bot="elena", user="newcomer", query="what do you know about me?", now=NOW)
    assert r.status_code == 200
    assert r.json()["facts"] == [] and "Nothing is known about this user yet" in r.json()["context"]


@pytest.mark.parametrize(
    "params, status, needle",
    [
        ({"bot": "nobody"}, 404, "unknown bot 'nobody'"),
        ({"bot": "bad|name"}, 422, "bot"),
        ({"query": ""}, 422, "query"),
        ({"query": "   "}, 422, "query is empty"),
        ({"tz": "Mars/Olympus"}, 422, "unknown time zone"),
        ({"now": "last tuesday"}, 422, "now"),
        ({"limit": "0"}, 422, "limit"),
        ({"limit": "many"}, 422, "limit"),
        ({"user": ""}, 422, "user"),
    ],
)
def test_recall_bad_requests(client, params, status, needle):
    base = {"bot": "elena", "user": "user_1", "query": "my job", "now": NOW}
    r = get(client, **{**base, **params})
    assert r.status_code == status, r.text
    assert needle in r.text


def test_recall_missing_parameter_and_bad_body(client):
    assert get(client, bot="elena", user="user_1").status_code == 422
    r = client.post("/recall", json={"bot": "elena", "user": "user_1", "query": ""})
    assert r.status_code == 422
    r = client.post("/recall", json={"bot": "nobody", "user": "user_1", "query": "hi"})
    assert r.status_code == 404


def test_the_request_is_recall_options(client):
    """GET parameters and POST body are RecallOptions (plus bot, user, query): their limits apply."""
    base = {"bot": "elena", "user": "user_1", "query": "how is my marathon training?", "now": NOW}
    assert get(client, **base).json()["related"]  # by default: the marathon summary
    assert get(client, **base, related_limit=0).json()["related"] == []
    assert get(client, **base, semantic="false").json()["semantic"] == "off"
    r = client.post("/recall", json={**base, "related_limit": 0, "summary_limit": 1})
    assert r.status_code == 200 and r.json()["related"] == []
    for bad in ({"limit": 51}, {"related_limit": -1}, {"min_score": 2}):
        assert get(client, **base, **bad).status_code == 422, bad
        assert client.post("/recall", json={**base, **bad}).status_code == 422, bad
    assert get(client, **base, colour="blue").status_code == 200  # unknown parameters are ignored
    parameters = {p["name"] for p in client.get("/openapi.json").json()["paths"]["/recall"]["get"]["parameters"]}
    assert {"bot", "user", "query", "now", "tz", "limit", "message_limit", "min_score"} <= parameters


@pytest.mark.parametrize("query", ["what did we talk about in 1850?", "and next century?", "in 9999"])
def test_absurd_ranges_are_fine(client, query):
    r = get(client, bot="elena", user="user_1", query=query, now=NOW)
    assert r.status_code == 200
    body = r.json()
    if body["time_range"] is None:  # beyond what a date holds: treated as no time named
        assert query == "in 9999" and body["summaries_scope"] == "recent"
    else:
        assert body["summaries"] == [] and "none found" in body["context"]


# -- /facts, /healthz, OpenAPI -----------------------------------------------------------------------

def test_facts(client):
    r = get(client, "/facts", bot="elena", user="user_1", category="pet")
    assert r.status_code == 200
    assert [f["fact"] for f in r.json()["facts"]] == ["has a dog named Biscuit"]
    r = get(client, "/facts", bot="elena", user="user_1")
    assert len(r.json()["facts"]) == 3
    assert get(client, "/facts", bot="elena", user="user_1", category="pets").status_code == 422
    assert get(client, "/facts", bot="nobody", user="user_1").status_code == 404
    assert get(client, "/facts", bot="elena", user="user_404").json()["facts"] == []


def test_healthz_and_openapi(client):
    r = client.get("/healthz")
    assert r.json() == {"status": "ok", "database": "ok", "embedder": "loaded", "semantic_search": "postgres"}
    schema = client.get("/openapi.json").json()
    assert {"/recall", "/facts", "/healthz"} <= set(schema["paths"])
    assert {"get", "post"} <= set(schema["paths"]["/recall"])
    components = schema["components"]["schemas"]
    assert {"RecallResponse", "FactItem", "SummaryItem", "Provenance", "TimeRange", "RecallRequest"} <= set(components)
    assert "context" in components["RecallResponse"]["properties"]


def test_without_the_model_time_ranges_still_work(api_settings):
    with TestClient(create_app(api_settings, load_model=False)) as c:
        body = get(c, bot="elena", user="user_1", query="how is my marathon training going?", now=NOW).json()
        assert body["semantic"] == "off" and body["related"] == []
        assert c.get("/healthz").json()["embedder"] == "off"


# -- CLI ---------------------------------------------------------------------------------------------

@pytest.fixture()
def env(api_settings, monkeypatch):
    monkeypatch.setenv("WHISPER_DATA_DIR", str(api_settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", api_settings.database_url)
    monkeypatch.delenv("WHISPER_LLM_BACKEND", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: no wrapping inside cells


def flat(text: str) -> str:
    return " ".join(text.split())


def test_ask_prints_the_context_block(env):
    result = runner.invoke(memory_app, ["ask", "--bot", "elena", "--user", "user_1", "--now", NOW,
                                        "what did we talk about yesterday?"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Memory of this user (as of 2025-11-12 15:00 UTC):")
    assert "- [pet] has a dog named Biscuit (as of 2025-11-01; confidence 0.90)" in result.output
    assert "- 2025-11-11: The user is training for the Lisbon marathon" in result.output
    assert "Answer:" not in result.output


def test_ask_json(env):
    result = runner.invoke(memory_app, ["ask", "--bot", "elena", "--user", "user_1", "--now", NOW, "--json",
                                        "my pets"])
    assert result.exit_code == 0, result.output
    assert '"categories": [' in result.output and '"context":' in result.output


def test_ask_with_an_llm_answers_from_the_context_only(env, monkeypatch):
    with StubLLMServer(default=Reply("You have a dog named Biscuit.")) as stub:
        monkeypatch.setenv("WHISPER_LLM_BACKEND", "openai")
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("WHISPER_LLM_MODEL", "stub-model")
        result = runner.invoke(memory_app, ["ask", "--bot", "elena", "--user", "user_1", "--now", NOW,
                                            "what's my dog called?"])
        assert result.exit_code == 0, result.output
        assert result.output.rstrip().endswith("Answer: You have a dog named Biscuit.")
        [request] = stub.chat_requests
    messages = request.body["messages"]
    assert messages[0] == {"role": "system", "content": ANSWER_SYSTEM_PROMPT}
    assert "has a dog named Biscuit" in messages[1]["content"] and "what's my dog called?" in messages[1]["content"]
    assert request.body["model"] == "stub-model"


@pytest.mark.parametrize(
    "args, needle",
    [
        (["ask", "--bot", "nobody", "--user", "user_1", "hi"], "unknown bot 'nobody'"),
        (["ask", "--bot", "bad|name", "--user", "user_1", "hi"], "invalid bot name"),
        (["ask", "--bot", "elena", "--user", "user_1", "  "], "the question is empty"),
        (["ask", "--bot", "elena", "--user", "user_1", "--now", "yesterday-ish", "hi"], "is not an ISO-8601 time"),
        (["ask", "--bot", "elena", "--user", "user_1", "--tz", "Mars/Olympus", "hi"], "unknown time zone"),
        (["facts", "--bot", "elena", "--user", "user_1", "--category", "pets"], "unknown category 'pets'"),
        (["facts", "--bot", "nobody", "--user", "user_1"], "unknown bot 'nobody'"),
        (["facts", "--bot", "[red]x", "--user", "user_1"], "invalid bot name '[red]x'"),
    ],
)
def test_bad_cli_input_exits_2(env, args, needle):
    result = runner.invoke(memory_app, args)
    assert result.exit_code == 2, result.output
    assert needle in flat(result.output)


def test_facts_table(env):
    result = runner.invoke(memory_app, ["facts", "--bot", "elena", "--user", "user_1", "--category", "pet"])
    assert result.exit_code == 0, result.output
    assert "has a dog named Biscuit" in result.output and "parrot" not in result.output
    result = runner.invoke(memory_app, ["facts", "--bot", "elena", "--user", "user_404"])
    assert result.exit_code == 0 and "no facts about user_404 with elena" in result.output


def test_merged_into_the_main_cli_at_top_level(env):
    """cli.py registers memory_app with app.add_typer(memory_app): its commands are top-level."""
    root = typer.Typer(no_args_is_help=True)

    @root.command("status")
    def status() -> None:  # pragma: no cover - a stand-in for the existing commands
        pass

    root.add_typer(memory_app)
    help_text = runner.invoke(root, ["--help"]).output
    assert all(name in help_text for name in ("ask", "facts", "serve", "status"))
    result = runner.invoke(root, ["facts", "--bot", "elena", "--user", "user_1"])
    assert result.exit_code == 0 and "works as a nurse" in result.output


def test_serve_binds_localhost_by_default(env, monkeypatch):
    import uvicorn

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(kw, app=app))
    result = runner.invoke(memory_app, ["serve"])
    assert result.exit_code == 0, result.output
    assert calls["host"] == "127.0.0.1" and calls["port"] == 8000
    assert calls["app"].title == "whisper_assets memory"
    assert runner.invoke(memory_app, ["serve", "--port", "70000"]).exit_code == 2


def test_healthz_reports_a_dead_database(tmp_path):
    settings = load_settings(data_dir=tmp_path / "w", database_url="postgresql://postgres@127.0.0.1:1/nothing")
    with TestClient(create_app(settings, load_model=False)) as c:
        r = c.get("/healthz")
    assert r.status_code == 503 and "database unavailable" in r.text
    get_engine(settings).dispose()
