"""JSON rendering of the API with orjson: DRF's output, for a fraction of the CPU of
DRF's ``json.dumps`` with a Python ``default`` hook, which every response pays.

The output is DRF's: compact, UTF-8,
``\\u2028`` and ``\\u2029`` escaped, and every type orjson does not render natively the
way DRF does (dates and times, Decimal, lazy strings, QuerySets, NumPy values) goes
through DRF's own encoder. Differences, on purpose or harmless: NaN and infinities,
which DRF's strict mode turns into a 500, are rendered as null; a float in exponent
form is written ``1e-7`` where DRF writes ``1e-07`` (the same number). Whatever orjson
cannot encode (an integer beyond 64 bits, an unknown float subclass) is rendered by DRF,
and indented output (the browsable API, ``Accept: application/json; indent=4``) too.
"""

from __future__ import annotations

import orjson
from rest_framework import renderers
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_drf_default = JSONEncoder().default


def json_bytes(data) -> bytes:
    """``data`` as DRF's compact JSON (see the module's docstring)."""
    out = orjson.dumps(data, default=_drf_default, option=_OPTIONS)
    if b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out:
        # U+2028 and U+2029 escaped, as DRF does: JSON that is also valid JavaScript.
        out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return out


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            return json_bytes(data)
        except (orjson.JSONEncodeError, TypeError):
            return super().render(data, accepted_media_type, renderer_context)


class JSONFallbackNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, except that an Accept header no renderer satisfies (or one that
    does not parse) gets JSON instead of a 406: the API speaks JSON, and RFC 9110 lets a
    server ignore Accept rather than refuse. A generated or sloppy client still gets an
    answer it can read, and no endpoint needs to document a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            if format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE):
                raise  # an explicit ?format= naming no renderer stays an error
            return renderers[0], renderers[0].media_type
