import pytest

from whisper_assets.core.settings import SettingsError, load_settings


def test_defaults_need_no_servers(monkeypatch, tmp_path):
    for var in ("DATABASE_URL", "QDRANT_URL", "OPENAI_API_KEY", "WHISPER_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.database_url is None and s.qdrant_url is None
    assert s.llm_backend == "offline"
    assert s.resolved_qdrant_path == (tmp_path / ".whisper" / "qdrant").resolve()


@pytest.mark.parametrize(
    "var, value",
    [
        ("WHISPER_MAX_MESSAGE_CHARS", "lots"),
        ("WHISPER_MAX_MESSAGE_CHARS", "0"),
        ("DATABASE_URL", "mysql://root@localhost/test"),
        ("QDRANT_URL", "localhost:6333"),
        ("WHISPER_LLM_BACKEND", "magic"),
        ("WHISPER_LLM_TIMEOUT_S", "-1"),
        ("OPENAI_BASE_URL", "ftp://example"),
    ],
)
def test_invalid_setting_names_the_variable(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert var in str(exc.value)


def test_env_values_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/db")
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    s = load_settings()
    assert s.database_url == "postgresql://u@127.0.0.1:5432/db"
    assert s.data_dir == tmp_path
    assert "sk-secret-value" not in repr(s) and "sk-secret-value" not in str(s.model_dump())


# -- WHISPER_DATA_DIR relative to the current directory ---------------------------------------------

import logging  # noqa: E402

from whisper_assets.core import settings as settings_module  # noqa: E402

SETTINGS_LOGGER = "whisper_assets.core.settings"


@pytest.fixture()
def fresh_process(monkeypatch, caplog):
    """No announcement made yet in this 'process'; servers and paths unset; records captured."""
    monkeypatch.setattr(settings_module, "_ANNOUNCED", set())
    for var in ("DATABASE_URL", "QDRANT_URL", "WHISPER_DATA_DIR", "WHISPER_QDRANT_PATH"):
        monkeypatch.delenv(var, raising=False)
    caplog.set_level(logging.WARNING, logger=SETTINGS_LOGGER)
    return caplog


def announcements(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == SETTINGS_LOGGER]


def test_relative_data_dir_is_resolved_once_at_load_and_announced_once(fresh_process, monkeypatch, tmp_path):
    (tmp_path / "project").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.setenv("WHISPER_DATA_DIR", "data")
    s = load_settings()
    where = tmp_path / "project" / "data"
    assert s.data_dir == where and s.data_dir.is_absolute()
    # Changing directory afterwards changes nothing: the stores stay where the settings were loaded.
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert s.pgdata_path == where / "pgdata" and s.resolved_qdrant_path == where / "qdrant"
    [line] = announcements(fresh_process)
    assert "WHISPER_DATA_DIR=data is relative" in line and str(where) in line and "\n" not in line
    # Settings are loaded many times per process (CLI, resources, runs): still one line.
    monkeypatch.chdir(tmp_path / "project")
    load_settings()
    load_settings()
    assert len(announcements(fresh_process)) == 1
    # Passed on, e.g. to a Dagster resource, the absolute path names the same stores silently.
    assert load_settings(data_dir=str(s.data_dir)).data_dir == where
    assert len(announcements(fresh_process)) == 1


def test_absolute_data_dir_is_used_as_given_and_never_announced(fresh_process, monkeypatch, tmp_path):
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "env"))
    assert load_settings().data_dir == tmp_path / "env"
    assert load_settings(data_dir=tmp_path / "override").data_dir == tmp_path / "override"
    assert announcements(fresh_process) == []


def test_home_in_data_dir_is_expanded(fresh_process, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WHISPER_DATA_DIR", "~/whisper")
    assert load_settings().data_dir == tmp_path / "whisper"
    assert announcements(fresh_process) == []


def test_unset_data_dir_speaks_only_when_new_stores_would_be_created(fresh_process, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.data_dir == tmp_path / ".whisper"
    [line] = announcements(fresh_process)
    assert "WHISPER_DATA_DIR is unset" in line and str(tmp_path / ".whisper") in line
    # Where the data already is (the usual case: run from the project directory), nothing is said.
    monkeypatch.setattr(settings_module, "_ANNOUNCED", set())
    fresh_process.clear()
    (tmp_path / ".whisper").mkdir()
    assert load_settings().data_dir == tmp_path / ".whisper"
    assert announcements(fresh_process) == []


def test_relative_paths_unused_by_embedded_stores_are_not_announced(fresh_process, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WHISPER_DATA_DIR", "data")
    s = load_settings(database_url="postgresql://u@127.0.0.1:5432/db", qdrant_url="http://127.0.0.1:6333")
    assert s.data_dir == tmp_path / "data"  # resolved all the same
    assert announcements(fresh_process) == []


def test_relative_qdrant_path_is_resolved_and_announced(fresh_process, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WHISPER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WHISPER_QDRANT_PATH", "q")
    s = load_settings()
    assert s.qdrant_path == tmp_path / "q" and s.resolved_qdrant_path == tmp_path / "q"
    [line] = announcements(fresh_process)
    assert "WHISPER_QDRANT_PATH=q is relative" in line and str(tmp_path / "q") in line


def test_an_invalid_setting_announces_nothing(fresh_process, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WHISPER_DATA_DIR", "data")
    monkeypatch.setenv("WHISPER_TORCH_THREADS", "0")
    with pytest.raises(SettingsError, match="WHISPER_TORCH_THREADS"):
        load_settings()
    assert announcements(fresh_process) == []
