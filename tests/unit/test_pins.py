import pytest

from loglane.errors import ConfigError
from loglane.stack.pins import parse_env_file, pins


def test_should_expand_references_to_earlier_keys() -> None:
    parsed = parse_env_file("# comment\nV=1.2\n\nLIB=g:a:${V} g:b:${V}\n")
    assert parsed == {"V": "1.2", "LIB": "g:a:1.2 g:b:1.2"}


def test_should_name_the_line_of_an_undefined_reference() -> None:
    with pytest.raises(ConfigError, match=r"pins:2: \$\{NOPE\} is not defined"):
        parse_env_file("A=1\nB=${NOPE}\n", "pins")


def test_should_refuse_a_line_that_is_not_key_value() -> None:
    with pytest.raises(ConfigError, match="pins:1: expected KEY=VALUE"):
        parse_env_file("kafka 4.1\n", "pins")


def test_shipped_pin_file_pins_every_component_with_full_coordinates() -> None:
    shipped = pins()
    for key in ("KAFKA_LIBS", "APICURIO_APP", "DEBEZIUM_JDBC_PLUGIN", "OPENSEARCH_DIST", "S3PROXY_JAR"):
        for coordinate in shipped[key].split():
            group, artifact, version, *_ = coordinate.split(":")
            assert group and artifact and version[0].isdigit(), coordinate
