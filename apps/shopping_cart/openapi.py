"""OpenAPI 3 documents of the write API and the read API (served at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

from apps.shopping_cart.events import MAX_ID_LENGTH, MAX_QTY

_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}
_QTY = {"type": "integer", "minimum": 1, "maximum": MAX_QTY}
_EVENT_ID = {
    "type": "string",
    "format": "uuid",
    "description": "Optional client-chosen id; a retry with the same id is applied once.",
}
_ERROR = {
    "type": "object",
    "required": ["error", "reason"],
    "properties": {"error": {"type": "string"}, "reason": {"type": "string"}},
}
_ACCEPTED = {
    "type": "object",
    "required": ["eventId"],
    "properties": {"eventId": {"type": "string", "format": "uuid"}},
}


def _body(required: list[str], props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": {**props, "eventId": _EVENT_ID},
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _command(summary: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
            "responses": {
                "202": _json(_ACCEPTED, "Stored in Kafka (acknowledged by all in-sync replicas)."),
                "400": _json(_ERROR, "Invalid request: the reason says which field and why."),
                "503": _json(_ERROR, "Kafka could not store the event; nothing was written."),
            },
        }
    }


def _health() -> dict[str, Any]:
    return {
        "get": {
            "summary": "Liveness and readiness",
            "responses": {
                "200": _json({"type": "object"}, "Ready."),
                "503": _json(_ERROR, "Not ready (Kafka or the database is unreachable)."),
            },
        }
    }


def write_api_spec() -> dict[str, Any]:
    """The write API: four commands that become events on ``cart-events``."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Shopping cart write API", "version": "1.0.0"},
        "paths": {
            "/api/v1/add": _command(
                "Add qty of an item to the customer's cart",
                _body(
                    ["customerId", "itemId", "qty"], {"customerId": _ID, "itemId": _ID, "qty": _QTY}
                ),
            ),
            "/api/v1/remove": _command(
                "Remove qty of an item (no qty: the whole line)",
                _body(["customerId", "itemId"], {"customerId": _ID, "itemId": _ID, "qty": _QTY}),
            ),
            "/api/v1/clear": _command(
                "Empty the open cart", _body(["customerId"], {"customerId": _ID})
            ),
            "/api/v1/checkout": _command(
                "Check out the open, non-empty cart", _body(["customerId"], {"customerId": _ID})
            ),
            "/healthz": _health(),
        },
    }


_MONEY = {"type": "string", "pattern": r"^\d+\.\d{2}$", "example": "65000.00"}
_LINE = {
    "type": "object",
    "properties": {
        "qty": {"type": "integer", "minimum": 1},
        "productName": {"type": "string", "nullable": True},
        "unitPrice": {**_MONEY, "nullable": True},
        "lineTotal": {**_MONEY, "nullable": True},
    },
}
_CART = {
    "type": "object",
    "properties": {
        "customerId": {"type": "string"},
        "cartNumber": {"type": "integer", "minimum": 1},
        "status": {"type": "string", "enum": ["OPEN", "CHECKED_OUT"]},
        "lines": {"type": "object", "additionalProperties": _LINE},
        "unknownItems": {"type": "array", "items": {"type": "string"}},
        "cartTotal": _MONEY,
        "version": {"type": "integer"},
        "updatedAt": {"type": "string", "format": "date-time", "nullable": True},
    },
}


def read_api_spec() -> dict[str, Any]:
    """The read API: the latest cart of a customer, from the read DB."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Shopping cart read API", "version": "1.0.0"},
        "paths": {
            "/api/v1/{customerId}": {
                "get": {
                    "summary": "The customer's latest cart",
                    "parameters": [
                        {"name": "customerId", "in": "path", "required": True, "schema": _ID}
                    ],
                    "responses": {
                        "200": _json(_CART, "The latest cart."),
                        "404": _json(_ERROR, "No cart for this customer (yet)."),
                    },
                }
            },
            "/healthz": _health(),
        },
    }
