"""The gateway's configuration: resolved from the settings, refused with the setting's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from loglane.cli import cli
from loglane.errors import ConfigError
from loglane.gateway.config import GatewayConfig
from loglane.settings import Settings, get_settings


def test_should_refuse_to_start_without_a_tokens_file() -> None:
    with pytest.raises(ConfigError, match="LOGLANE_GATEWAY_TOKENS_FILE is unset"):
        GatewayConfig.from_settings(Settings(gateway_tokens_file=None))


def test_should_write_to_the_raw_topic_unless_told_otherwise(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("shop: [plain-token]\n")
    default = GatewayConfig.from_settings(Settings(gateway_tokens_file=tokens))
    assert (default.topic, default.subject) == ("logs.raw", "logs.raw-value")
    assert '"name": "LogEvent"' in default.schema_text
    other = GatewayConfig.from_settings(Settings(gateway_tokens_file=tokens, gateway_topic="scratch", gateway_rate_limit=7))
    assert (other.topic, other.rate_limit) == ("scratch", 7)


def test_the_cli_verb_names_the_missing_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGLANE_GATEWAY_TOKENS_FILE", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["gateway", "--port", "0"])
    finally:
        get_settings.cache_clear()
    assert isinstance(result.exception, ConfigError)
    assert "LOGLANE_GATEWAY_TOKENS_FILE" in str(result.exception)
