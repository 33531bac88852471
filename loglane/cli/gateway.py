"""`loglane gateway`: the HTTP ingestion gateway."""

from __future__ import annotations

import logging

import click

from loglane.errors import LoglaneError
from loglane.settings import get_settings


@click.command()
@click.option("--host", default=None, help="Address to listen on.  [default: LOGLANE_GATEWAY_HOST, 127.0.0.1]")
@click.option("--port", type=int, default=None, help="Port to listen on.  [default: LOGLANE_GATEWAY_PORT, 8088]")
@click.option("--access-log", is_flag=True, help="Log every request (method, path, status; never headers).")
@click.option(
    "-l", "--loglevel", default="info", show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]), help="The gateway's log level.",
)
def gateway(host: str | None, port: int | None, access_log: bool, loglevel: str) -> None:
    """Serve the HTTP ingestion API until SIGINT or SIGTERM.

    POST /v1/logs, /v1/logs/batch (JSON array or NDJSON; Fluent Bit's HTTP output) and
    /v1/logs/upload (a plain or gzip file of JSON lines) write LogEvents to the raw topic in Avro;
    GET /healthz answers 200 once the producer and the registry client are connected, GET /metrics
    is Prometheus. Tokens come from LOGLANE_GATEWAY_TOKENS_FILE; the topic and its schema must
    exist (`loglane apply`). On SIGTERM it stops taking requests and waits for Kafka to
    acknowledge what is in flight.
    """
    # Imported here: only this verb needs aiohttp and the gateway.
    from aiohttp import web

    from loglane.gateway import Gateway, GatewayConfig

    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # the registry client logs every request at INFO
    settings = get_settings()
    config = GatewayConfig.from_settings(settings)
    host = host or settings.gateway_host
    port = port if port is not None else settings.gateway_port
    app = Gateway(config).app()
    click.echo(
        f"gateway: http://{host}:{port} -> topic {config.topic} "
        f"(tenants: {', '.join(config.tokens.tenants)}); ready once Kafka and the registry answer (GET /healthz)",
        err=True,
    )
    try:
        web.run_app(
            app,
            host=host,
            port=port,
            access_log=logging.getLogger("aiohttp.access") if access_log else None,
            print=None,
            shutdown_timeout=config.delivery_timeout,
        )
    except OSError as exc:
        raise LoglaneError(f"gateway: cannot listen on {host}:{port}: {exc}; is something else on it? pass --port") from exc
