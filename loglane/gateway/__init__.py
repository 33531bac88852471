"""The HTTP ingestion gateway (`loglane gateway`): JSON events over HTTP -> the raw topic, Avro."""

from loglane.gateway.app import Gateway
from loglane.gateway.config import GatewayConfig

__all__ = ["Gateway", "GatewayConfig"]
