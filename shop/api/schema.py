"""drf-spectacular postprocessing: the error answers every operation can give, documented
once here rather than on each view.

- 429 (throttled, with ``Retry-After``) on every operation: every v1 view is throttled;
- 415 on every operation with a body: the API parses JSON only;
- 400 on every operation that takes parameters or a body, when its view did not say.

Each answers the one error shape (``Error``, shop.api.errors).
"""

from __future__ import annotations

ERROR_REF = {"$ref": "#/components/schemas/Error"}
_DESCRIPTIONS = {
    "400": "Invalid input: `details` names each field at fault.",
    "415": "The body is not JSON (`Content-Type: application/json`).",
    "429": "Throttled: retry after `Retry-After` seconds.",
}
_METHODS = ("get", "post", "put", "patch", "delete")


def _error(status: str) -> dict:
    response = {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status == "429":
        response["headers"] = {
            "Retry-After": {
                "schema": {"type": "integer"},
                "description": "Seconds until the caller may try again.",
            }
        }
    return response


def add_common_errors(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry (after drf-spectacular's enum hook)."""
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            wanted = ["429"]
            if "requestBody" in operation:
                wanted += ["415", "400"]
            elif operation.get("parameters"):
                wanted.append("400")
            for status in wanted:
                responses.setdefault(status, _error(status))
    return result
