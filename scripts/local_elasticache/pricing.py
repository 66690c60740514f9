"""The AWS Price List API's `GetProducts`, answered from recorded prices, so a plan on
the emulator shows a cost. moto has no Price List service: requests whose
`X-Amz-Target` is `AWSPriceListService.*` are taken before moto's dispatcher looks for
one. Prices come from `settings.prices_dir` (one file per region, `{"entries": [...]}`,
each entry a product with its terms exactly as `GetProducts` returns it); a product
matches when every `TERM_MATCH` filter equals its `productFamily` or attribute (field
names compared without case, as AWS does). Everything is answered on one page."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from .config import settings

TARGET_PREFIX = "AWSPriceListService."


@lru_cache(maxsize=4)
def recorded(prices_dir: Path) -> tuple[dict[str, Any], ...]:
    entries: list[dict[str, Any]] = []
    for path in sorted(prices_dir.glob("*.json")):
        entries += json.loads(path.read_text())["entries"]
    return tuple(entries)


def field_value(entry: dict[str, Any], field: str) -> Any:
    product = entry["product"]
    if field.lower() == "productfamily":
        return product.get("productFamily")
    attributes = {k.lower(): v for k, v in product.get("attributes", {}).items()}
    return attributes.get(field.lower())


def get_products(request: dict[str, Any], entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    service_code = request.get("ServiceCode")
    if not service_code:
        raise InvalidParameter("ServiceCode is required")
    filters = request.get("Filters") or []
    for f in filters:
        if f.get("Type") != "TERM_MATCH":
            raise InvalidParameter(f"filter type {f.get('Type')!r} is not supported")
    matching = [
        entry for entry in entries
        if entry.get("serviceCode") == service_code
        and all(field_value(entry, f["Field"]) == f["Value"] for f in filters)
    ]
    return {"FormatVersion": request.get("FormatVersion", "aws_v1"),
            "PriceList": [json.dumps(entry) for entry in matching]}


class InvalidParameter(Exception):
    pass


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A WSGI application answering the Price List's operations."""
    operation = environ.get("HTTP_X_AMZ_TARGET", "")[len(TARGET_PREFIX):]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    try:
        if operation != "GetProducts":
            raise Unknown(operation)
        status, answer = "200 OK", get_products(body, recorded(settings.prices_dir))
    except InvalidParameter as err:
        status, answer = "400 Bad Request", {"__type": "InvalidParameterException", "Message": str(err)}
    except Unknown:
        status, answer = "400 Bad Request", {
            "__type": "UnknownOperationException",
            "Message": f"Local ElastiCache's Price List answers GetProducts only, not {operation}",
        }
    payload = json.dumps(answer).encode()
    start_response(status, [("Content-Type", "application/x-amz-json-1.1"),
                            ("Content-Length", str(len(payload)))])
    return [payload]


class Unknown(Exception):
    pass


def install() -> None:
    """Routes Price List requests to `app` ahead of moto's own dispatch."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_application
    if getattr(original, "local_elasticache", False):
        return

    def get_application(self: DomainDispatcherApplication, environ: dict[str, Any]) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(TARGET_PREFIX):
            return app
        return original(self, environ)

    get_application.local_elasticache = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.get_application = get_application  # type: ignore[method-assign]
