"""MESSAGE_COVERAGE's rule (core/enrichment/quality.py): a message is enriched when a summary cites it
or was written from its user's window, else it must be skipped with a reason."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np

from whisper_assets.core.enrichment.models import StagedMessage, Summary
from whisper_assets.core.enrichment.quality import uncovered_messages

DAY = date(2026, 3, 4)
START = datetime(2026, 3, 4, tzinfo=timezone.utc)


def message(mid: str, user: str, hour: int) -> StagedMessage:
    return StagedMessage(mid, "elena", DAY, user, "user", "some words", START + timedelta(hours=hour),
                         np.zeros(3, dtype=np.float32))


def summary(user: str, cites: tuple[str, ...]) -> Summary:
    return Summary("elena", DAY, user, START, START + timedelta(days=1), "Ana said she repainted the hall.",
                   ("home",), 3, cites, "offline", "offline-v4", last_message_at=START + timedelta(hours=9))


def test_turns_a_summary_read_are_covered_even_when_it_cites_fewer():
    msgs = [message("a1", "ana", 8), message("a2", "ana", 9), message("b1", "ben", 10), message("b2", "ben", 11)]
    # ana's summary cites one of her two turns; ben has no summary: one of his turns is skipped, one is lost
    assert uncovered_messages(msgs, [summary("ana", ("a1",))], {"b1": "empty text"}) == ["b2"]
    assert uncovered_messages(msgs, [summary("ana", ("a1",)), summary("ben", ())], {}) == []
