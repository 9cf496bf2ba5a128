"""The API's JSON parsers: a body too large is a 413 and a body nested too deep a 400, both in
the house error shape, before any view sees the data.

Python's json module recurses once per nesting level: about a thousand levels raise
RecursionError, and a few hundred that parse still reach code that walks them recursively
(the serializers, the error flattener). No body the API accepts needs more than a handful of
levels, so anything past MAX_DEPTH is refused whole.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError

# The deepest body the API documents is three levels (a bulk row's external ids); 32 leaves
# room for any JSON value a client stores while staying far below Python's recursion limit.
MAX_DEPTH = 32


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The body is too large."


class TooDeep(ParseError):
    default_code = "too_deep"


def _refuse_constants(name: str):
    raise ValueError(f"{name} is not valid JSON")


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How many arrays and objects deep `value` goes, counted without recursion; stops
    counting at limit + 1 (the caller only needs to know it is too deep).

    Level by level: a bulk body is 10,000 rows of a few levels each, and one list per level
    costs far less than a stack entry per object."""
    containers = (dict, list)
    level = [value] if type(value) in containers else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return depth
        below = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) in containers:
                    below.append(child)
        level = below
    return depth


class JSONParser(parsers.BaseParser):
    """JSON read straight from the request stream, at most `max_bytes()` bytes and MAX_DEPTH
    levels deep; NaN and Infinity are refused (they are not JSON).

    Reading the stream, not `request.body`, means the size limit is ours to answer: Django's
    own (DATA_UPLOAD_MAX_MEMORY_SIZE) raises from `request.body` and ends as an HTML page.
    """

    media_type = "application/json"
    renderer_class = parsers.JSONParser.renderer_class

    def max_bytes(self) -> int:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return limit if limit is not None else 2**62

    def parse(self, stream, media_type=None, parser_context=None):
        limit = self.max_bytes()
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(self.too_large_message(limit))
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(self.too_large_message(limit))
        try:
            data = json.loads(raw, parse_constant=_refuse_constants)
        except RecursionError:
            raise TooDeep(self.too_deep_message()) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if nesting_depth(data) > MAX_DEPTH:
            raise TooDeep(self.too_deep_message())
        return data

    def too_large_message(self, limit: int) -> str:
        return f"The body is larger than {_size(limit)}, the most this endpoint reads."

    def too_deep_message(self) -> str:
        return f"The JSON body is nested more than {MAX_DEPTH} levels deep."


class BulkJSONParser(JSONParser):
    """The bulk endpoints' parser: the same checks with a larger body limit (MAX_BYTES).

    A 10,000-row sync with descriptions is larger than DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
    """

    MAX_BYTES = 32 * 1024 * 1024

    def max_bytes(self) -> int:
        return self.MAX_BYTES

    def too_large_message(self, limit: int) -> str:
        return f"The body is larger than {_size(limit)}; send fewer rows."


def _size(limit: int) -> str:
    mb = limit / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{limit} bytes"
