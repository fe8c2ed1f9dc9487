"""Settings from environment, DATABASE_URL, and a YAML or TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import Settings
from service.db import normalize_url


def test_defaults(monkeypatch):
    for k in ("DATABASE_URL", "CIVICWATCH_CONFIG", "CIVICWATCH_DATA_DIR"):
        monkeypatch.delenv(k, raising=False)
    s = Settings()
    assert s.data_dir == Path("var") and s.max_upload_bytes == 8 * 1024**3
    assert s.db_url == "sqlite:///var/civicwatch.sqlite3"
    assert s.redaction_policy == "bystanders" and s.session_cookie_secure is False


def test_environment_and_database_url(monkeypatch, tmp_path):
    monkeypatch.setenv("CIVICWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CIVICWATCH_MAX_UPLOAD_BYTES", "1000")
    monkeypatch.setenv("CIVICWATCH_REDACTION_POLICY", "all")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h:5432/db")
    s = Settings()
    assert (s.data_dir, s.max_upload_bytes, s.redaction_policy) == (tmp_path, 1000, "all")
    assert normalize_url(s.db_url) == "postgresql+psycopg://u@h:5432/db"
    monkeypatch.setenv("CIVICWATCH_REDACTION_POLICY", "some")
    with pytest.raises(ValueError):
        Settings()


@pytest.mark.parametrize("suffix,text", [
    (".yaml", "data_dir: /srv/cw\nmax_upload_bytes: 5000\nanalyze_options: {analysis_fps: 5}\n"),
    (".toml", 'data_dir = "/srv/cw"\nmax_upload_bytes = 5000\n[analyze_options]\nanalysis_fps = 5\n'),
])
def test_config_file(monkeypatch, tmp_path, suffix, text):
    cfg = tmp_path / f"civicwatch{suffix}"
    cfg.write_text(text)
    monkeypatch.setenv("CIVICWATCH_CONFIG", str(cfg))
    monkeypatch.delenv("CIVICWATCH_DATA_DIR", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    s = Settings()
    assert (s.data_dir, s.max_upload_bytes, s.analyze_options) == (Path("/srv/cw"), 5000, {"analysis_fps": 5})
    monkeypatch.setenv("CIVICWATCH_MAX_UPLOAD_BYTES", "7")  # the environment wins over the file
    assert Settings().max_upload_bytes == 7
    monkeypatch.setenv("CIVICWATCH_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ValueError):
        Settings()


def test_secret_key_generated_once_and_kept(tmp_path):
    s = Settings(data_dir=tmp_path)
    key = s.resolved_secret_key()
    assert len(key) > 40 and (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert Settings(data_dir=tmp_path).resolved_secret_key() == key
    assert Settings(data_dir=tmp_path, secret_key="given").resolved_secret_key() == "given"
