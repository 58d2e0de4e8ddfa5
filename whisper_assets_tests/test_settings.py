import pytest

from whisper_assets.settings import SettingsError, load_settings


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
