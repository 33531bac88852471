import os
from pathlib import Path

import pytest

from loglane.errors import ConfigError
from loglane.settings import Settings, get_settings, port_of


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the LOGLANE_* variables it sets itself."""
    for name in [n for n in os.environ if n.startswith("LOGLANE_")]:
        monkeypatch.delenv(name)


def test_should_read_addresses_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGLANE_KAFKA_BOOTSTRAP", "broker-1:9092,broker-2:9092")
    monkeypatch.setenv("LOGLANE_S3_SECRET_ACCESS_KEY", "s3cr3t")
    settings = Settings()
    assert settings.kafka_bootstrap == "broker-1:9092,broker-2:9092"
    assert settings.s3_secret_access_key.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(settings)


def test_environment_should_win_over_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "loglane.yaml"
    config.write_text("connect_url: http://connect.internal:8083\nopensearch_url: http://os:9200\n")
    monkeypatch.setenv("LOGLANE_CONFIG", str(config))
    monkeypatch.setenv("LOGLANE_OPENSEARCH_URL", "http://from-env:9200")
    settings = Settings()
    assert settings.connect_url == "http://connect.internal:8083"
    assert settings.opensearch_url == "http://from-env:9200"


def test_should_refuse_unknown_keys_in_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "loglane.yaml"
    config.write_text("kafka_bootstrapp: typo:9092\n")
    monkeypatch.setenv("LOGLANE_CONFIG", str(config))
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="KAFKA_BOOTSTRAPP"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_port_of_reads_urls_and_host_port_lists() -> None:
    assert port_of("http://127.0.0.1:8081/apis/ccompat/v7") == 8081
    assert port_of("127.0.0.1:9092,127.0.0.1:9192") == 9092
    with pytest.raises(ConfigError, match="names no port"):
        port_of("http://opensearch.internal")
