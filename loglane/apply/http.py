"""One small HTTP client per service, so every failure names the service, the request and the setting."""

from __future__ import annotations

from typing import Any

import requests

from loglane.errors import LoglaneError, UnreachableError
from loglane.settings import Settings


class Endpoint:
    def __init__(
        self, service: str, base_url: str, setting: str, auth: tuple[str, str] | None = None, timeout: float = 15.0
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.setting = setting
        self.auth = auth
        self.timeout = timeout

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The response, whatever its status; only a service that does not answer raises."""
        url = f"{self.base_url}{path}"
        try:
            return requests.request(method, url, auth=self.auth, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise UnreachableError(self.service, self.base_url, type(exc).__name__, self.setting) from exc

    def fail(self, response: requests.Response, what: str) -> LoglaneError:
        """An error for an answer we did not expect, with the start of the service's own words."""
        request = response.request
        return LoglaneError(
            f"{what}: {self.service} answered {request.method} {request.path_url} "
            f"with HTTP {response.status_code}: {response.text[:500]}"
        )

    def json(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        if not response.ok:
            raise self.fail(response, what)
        return response.json()


def registry(settings: Settings) -> Endpoint:
    return Endpoint("registry", settings.registry_url, "LOGLANE_REGISTRY_URL")


def apicurio(settings: Settings) -> Endpoint:
    return Endpoint("registry", settings.apicurio_url, "LOGLANE_REGISTRY_URL")


def is_apicurio(settings: Settings) -> bool:
    """Apicurio serves its Confluent-compatible API under /apis/ccompat/, beside its native API."""
    return "/apis/ccompat/" in settings.registry_url


def connect(settings: Settings) -> Endpoint:
    # Connect answers config validation and connector creation slowly while it rebalances.
    return Endpoint("connect", settings.connect_url, "LOGLANE_CONNECT_URL", timeout=60.0)


def opensearch(settings: Settings) -> Endpoint:
    auth = None
    if settings.opensearch_username:
        password = settings.opensearch_password.get_secret_value() if settings.opensearch_password else ""
        auth = (settings.opensearch_username, password)
    return Endpoint("opensearch", settings.opensearch_url, "LOGLANE_OPENSEARCH_URL", auth=auth)
