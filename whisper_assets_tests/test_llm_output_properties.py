"""Property tests of the LLM output parser: whatever a model answers, it is a validated batch or a
LLMOutputError/ValidationError, never another exception; and an error text never quotes a
message or names a user (it ends up in enrichment_metadata and Dagster's logs)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import ValidationError

from whisper_assets.core.llm.backend import BatchMessage, LLMOutputError, interpret
from whisper_assets.core.llm.schemas import BatchOut, Category

SECRET_TEXT = "my locker code is 4417 and I live on Quince Lane"
USERS = ("user_quince_7", "user_larch_9")
BATCH = [
    BatchMessage(f"00000000-0000-4000-8000-00000000000{i}", USERS[i % 2], f"{SECRET_TEXT} ({i})",
                 datetime(2026, 11, 20, 9, i, tzinfo=timezone.utc))
    for i in range(4)
]

labels = st.sampled_from(["m1", "m2", "m3", "m4", "m5", "m0", "u1", "x", ""])
json_scalars = st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False) | st.text(max_size=20)
any_json = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)
fact_like = st.fixed_dictionaries({
    "message_ids": st.lists(labels, max_size=4),
    "category": st.sampled_from([c.value for c in Category] + ["job", ""]),
    "fact": st.text(max_size=40) | st.just(SECRET_TEXT),
    "confidence": st.floats(-1, 2, allow_nan=False),
})
summary_like = st.fixed_dictionaries({
    "user": st.sampled_from(["u1", "u2", "u3", USERS[0]]),
    "summary": st.text(max_size=40) | st.just(SECRET_TEXT),
    "topics": st.lists(st.text(max_size=10), max_size=3),
})
answers = any_json | st.fixed_dictionaries({"facts": st.lists(fact_like, max_size=3),
                                            "summaries": st.lists(summary_like, max_size=3)})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers)
def test_any_answer_is_a_valid_batch_or_a_clean_error(answer):
    text = json.dumps(answer)
    try:
        out = BatchOut.model_validate(json.loads(text))
    except ValidationError:
        return  # the backend turns this into "fails the schema at <path>" (no input included)
    try:
        facts, summaries = interpret(out, BATCH)
    except LLMOutputError as exc:
        message = str(exc)
        assert SECRET_TEXT not in message and "4417" not in message
        assert not any(user in message for user in USERS)
        return
    ids = {m.message_id for m in BATCH}
    for fact in facts:
        # A fact attaches to the one user whose turns it cites, and cites only the batch's messages.
        assert set(fact.source_message_ids) <= ids
        assert {m.user_id for m in BATCH if m.message_id in fact.source_message_ids} == {fact.user_id}
    assert set(summaries) == set(USERS)
