"""One writer per bot (invariant 7): a run's transaction holds its bots' exclusive locks until it
commits; a second writer waits, and gives up with a message naming the holder."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from whisper_assets.stores.run_transaction import BotBusyError, RunTransaction
from whisper_assets.stores.postgres import get_engine


def rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT run_id, bot_name FROM enrichment_metadata").all()]


def record(tx: RunTransaction, bot: str) -> None:
    tx.conn.execute(sa.text(
        "INSERT INTO enrichment_metadata (run_id, asset_key, bot_name, day, status)"
        " VALUES (:run, 'a', :bot, '2026-01-02', 'success')"
    ), {"run": tx.run_id, "bot": bot})


def test_a_second_writer_of_the_bot_gives_up_naming_the_run_that_holds_it(settings):
    engine = get_engine(settings)
    first = RunTransaction(engine, "run-aaaa")
    first.lock(["elena"])
    second = RunTransaction(engine, "run-bbbb", wait_s=0.5)
    with pytest.raises(BotBusyError, match=r"elena.*run run-aaaa.*wrote nothing"):
        second.lock(["elena"])
    second.close()
    other = RunTransaction(engine, "run-cccc", wait_s=0.5)
    other.lock(["marcus"])  # another bot is not held up
    record(other, "marcus")
    other.commit()
    first.close()
    assert rows(engine) == [("run-cccc", "marcus")]


def test_the_second_writer_waits_for_the_commit_and_nothing_is_written_twice(settings):
    engine = get_engine(settings)
    first = RunTransaction(engine, "run-1")
    first.lock(["elena"])
    record(first, "elena")
    order: list[str] = []

    def second_run() -> None:
        tx = RunTransaction(engine, "run-2", wait_s=30)
        tx.lock(["elena"])
        order.append("second locked")
        # What a partition write does: replace the bot's rows, seeing the first run's commit.
        tx.conn.execute(sa.text("DELETE FROM enrichment_metadata WHERE bot_name = 'elena'"))
        record(tx, "elena")
        tx.commit()

    thread = threading.Thread(target=second_run)
    thread.start()
    time.sleep(0.5)
    assert not order  # still waiting for the first run
    order.append("first commits")
    first.commit()
    thread.join(timeout=30)
    assert order == ["first commits", "second locked"]
    assert rows(engine) == [("run-2", "elena")]


def test_a_closed_transaction_leaves_nothing_and_frees_the_bot(settings):
    engine = get_engine(settings)
    tx = RunTransaction(engine, "run-x")
    tx.lock(["elena"])
    record(tx, "elena")
    tx.close()
    assert rows(engine) == []
    again = RunTransaction(engine, "run-y", wait_s=0.5)
    again.lock(["elena"])
    again.close()
