"""A writer held open by a long-running process hands the embedded store back between bursts.

Other processes are real subprocesses taking the store through `open_store` (the file lock is
per process and per thread). No latency is asserted: only generous timeouts, so a writer that
never hands the store back makes these tests fail (the other process times out).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from whisper_assets.memory.hot_path import close_shared_writers, message_writer, shared_writer, store_message
from whisper_assets.core.settings import load_settings
from whisper_assets.stores.qdrant import StoreBusyError, open_store

UTC = timezone.utc
TS = datetime(2025, 11, 9, 8, 15, tzinfo=UTC)
GENEROUS_S = float(os.environ.get("WHISPER_TEST_GENEROUS_S", 60))  # lower it to see a broken writer fail fast

# Another process: take the store with `open_store`, report what it saw, optionally hold it
# until a line arrives on stdin.
OTHER = r"""
import json, sys, time
from whisper_assets.core.settings import load_settings
from whisper_assets.stores.qdrant import StoreBusyError, open_store
settings = load_settings(data_dir=sys.argv[1])
t = time.monotonic()
try:
    with open_store(settings, lock_timeout_s=float(sys.argv[2])) as store:
        out = {"ok": True, "waited_s": time.monotonic() - t, "count": store.engine.count(store.messages, {})}
        print(json.dumps(out), flush=True)
        if sys.argv[3] == "hold":
            sys.stdin.readline()
except StoreBusyError as exc:
    print(json.dumps({"ok": False, "error": str(exc)}), flush=True)
"""


@pytest.fixture()
def settings(tmp_path):
    # Overrides conftest's `settings` (which needs PostgreSQL): Qdrant only.
    return load_settings(data_dir=tmp_path)


@pytest.fixture(autouse=True)
def _no_shared_writers():
    yield
    close_shared_writers()


def other_process(settings, lock_timeout_s: float = GENEROUS_S) -> dict:
    """Run OTHER to completion; its JSON line."""
    proc = subprocess.run(
        [sys.executable, "-c", OTHER, str(settings.data_dir), str(lock_timeout_s), "once"],
        capture_output=True, text=True, timeout=lock_timeout_s + GENEROUS_S,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def wait_until(condition, timeout: float = GENEROUS_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def count(settings) -> int:
    with open_store(settings, lock_timeout_s=GENEROUS_S) as store:
        return store.engine.count(store.messages, {})


def msg(writer, i: int, user: str = "user_alice") -> str:
    return writer.store_message("elena", user, "user", f"message number {i} about my week", TS + timedelta(seconds=i))


def test_another_process_gets_the_store_from_an_open_idle_writer(settings):
    # Idle release far away: only the other process's request can make the writer hand back.
    with message_writer(settings, idle_release_s=600, max_hold_s=0.5) as writer:
        msg(writer, 0)
        assert writer.is_open
        seen = other_process(settings)
        assert seen["ok"], seen
        assert seen["count"] == 1  # the writer flushed before handing back
        assert writer.stats.released_asked == 1 and writer.stats.released_idle == 0
        # writes after the hand-back still land (the writer reopens the store)
        msg(writer, 1)
        msg(writer, 2)
        assert writer.is_open and writer.stats.opens == 2
    assert not writer.is_open
    seen = other_process(settings, lock_timeout_s=0)  # close() handed the store back
    assert seen["ok"] and seen["count"] == 3


def test_idle_writer_hands_the_store_back_by_itself(settings):
    with message_writer(settings, idle_release_s=0.2, max_hold_s=600) as writer:
        msg(writer, 0)
        wait_until(lambda: not writer.is_open)
        assert writer.stats.released_idle == 1
        # Released for real (the lock belongs to the thread that took it): no wait at all.
        seen = other_process(settings, lock_timeout_s=0)
        assert seen["ok"] and seen["count"] == 1
        msg(writer, 1)
        assert writer.stats.opens == 2
    assert count(settings) == 2


def test_another_process_gets_turns_while_writes_keep_coming(settings):
    written: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    with message_writer(settings, idle_release_s=600, max_hold_s=0.5) as writer:
        def pump() -> None:
            i = 0
            try:
                while not stop.is_set():
                    written.append(msg(writer, i))
                    i += 1
                    time.sleep(0.01)
            except BaseException as exc:  # reported below
                errors.append(exc)

        thread = threading.Thread(target=pump)
        thread.start()
        try:
            wait_until(lambda: len(written) >= 5)
            first = other_process(settings)
            second = other_process(settings)
            after = len(written)
            wait_until(lambda: len(written) >= after + 5)  # writing goes on after the turns
        finally:
            stop.set()
            thread.join(GENEROUS_S)
        assert not errors, errors
        assert first["ok"] and second["ok"], (first, second)
        assert 5 <= first["count"] <= second["count"] <= len(written)
        assert writer.stats.released_asked >= 2
    assert count(settings) == len(written) == len(set(written))


def test_a_write_waits_for_another_process_and_lands(settings):
    proc = subprocess.Popen(
        [sys.executable, "-c", OTHER, str(settings.data_dir), str(GENEROUS_S), "hold"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert json.loads(proc.stdout.readline())["ok"]  # the other process holds the store now
        with message_writer(settings) as writer:
            with pytest.raises(StoreBusyError):
                with writer.holding(lock_timeout_s=0.2):
                    pass
            done = threading.Event()
            thread = threading.Thread(target=lambda: (msg(writer, 0), done.set()))
            thread.start()
            proc.stdin.write("\n")
            proc.stdin.flush()
            thread.join(GENEROUS_S)
            assert done.is_set()
    finally:
        proc.stdin.close()
        proc.wait(GENEROUS_S)
    assert count(settings) == 1


def test_open_store_in_another_thread_of_this_process_gets_the_store(settings):
    got = threading.Event()

    def other_thread() -> None:
        with open_store(settings, lock_timeout_s=GENEROUS_S) as store:
            assert store.engine.count(store.messages, {}) == 1
            got.set()

    with message_writer(settings, idle_release_s=600, max_hold_s=600) as writer:
        msg(writer, 0)
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(GENEROUS_S)
        assert got.is_set()
        assert writer.stats.released_in_process == 1
        msg(writer, 1)
    assert count(settings) == 2


def test_one_off_calls_reuse_one_open_and_hand_it_back(settings):
    a = store_message("elena", "user_alice", "user", "I adopted a cat named Miso", TS, settings=settings)
    b = store_message("elena", "user_alice", "user", "she sleeps on my keyboard", TS + timedelta(seconds=1),
                      settings=settings)
    writer = shared_writer(settings)
    assert writer.stats.opens == 1  # the second call found the store open
    # another process still gets the store (idle release or its request), and sees both
    seen = other_process(settings)
    assert seen["ok"] and seen["count"] == 2
    assert not writer.is_open
    c = store_message("elena", "user_bob", "user", "I work as a nurse", TS, settings=settings)
    assert len({a, b, c}) == 3
    close_shared_writers()
    assert not writer.is_open
    assert other_process(settings, lock_timeout_s=0)["count"] == 3


def test_closed_writer_refuses_writes(settings):
    with message_writer(settings) as writer:
        msg(writer, 0)
    with pytest.raises(Exception, match="closed"):
        msg(writer, 1)
