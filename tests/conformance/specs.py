"""The vendors' OpenAPI documents as JSON Schema: validators and generators of responses.

The documents live in a ``shared/specs`` checkout beside the repository (CI lays one
there). Without it the conformance tests skip on a developer's machine and fail in CI
(``CI`` set), so a missing checkout can never pass as green.

OpenAPI 3.0's ``nullable: true`` (used by Skilljar's 3.0 document and, although it
declares 3.1, by StackOne's) is not JSON Schema; :func:`as_json_schema` rewrites it as
``anyOf: [{type: null}, …]`` and 3.0's boolean ``exclusiveMinimum``/``exclusiveMaximum``
as 2020-12's numeric ones. Validation is ``jsonschema``'s Draft 2020-12 validator with
the document registered in a ``referencing`` registry, so ``$ref`` into
``#/components/…`` resolves as written.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "SPECS_DIR",
    "Spec",
    "as_json_schema",
    "example_of",
    "load_spec",
]

SPECS_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs"
FILES = {
    "kombo": "kombo.openapi.json",
    "stackone": "stackone-lms.openapi.json",
    "skilljar": "skilljar.openapi.json",
}
# Formats hypothesis-jsonschema can generate; others ("string", "int32" …) only annotate.
_GENERATED_FORMATS = {"date-time", "date", "email", "uri"}


def as_json_schema(node: Any) -> Any:
    """``node`` with OpenAPI 3.0 keywords rewritten as JSON Schema 2020-12 (a copy)."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: as_json_schema(value) for key, value in node.items()}
    for bound in ("Minimum", "Maximum"):
        if out.get(f"exclusive{bound}") is True and bound.lower() in out:
            out[f"exclusive{bound}"] = out.pop(bound.lower())
        elif isinstance(out.get(f"exclusive{bound}"), bool):
            del out[f"exclusive{bound}"]
    if isinstance(out.get("format"), str) and out["format"] not in _GENERATED_FORMATS:
        del out["format"]
    if out.pop("nullable", False) is True:
        out = {"anyOf": [{"type": "null"}, out]}
    return out


#: Responses whose schema contradicts the operation's own description, checked as
#: described. Skilljar's ``GET /v1/users`` is typed as a bare array of ``UserOverview``,
#: while its description says it "uses cursor-based pagination by default … Follow the
#: `next` URL in each response": a DRF page, ``{next, previous, results: [UserOverview]}``
#: (``count`` too, as on every other Skilljar list). The connector reads either shape.
DESCRIBED_PAGES = {("skilljar", "/v1/users", "200")}


def _described_page(items: dict[str, Any]) -> dict[str, Any]:
    """A DRF page whose ``results`` is the declared array schema ``items``."""
    link = {"type": ["string", "null"]}
    return {
        "type": "object",
        "required": ["results"],
        "properties": {"count": {"type": "integer"}, "next": link, "previous": link},
        "allOf": [{"properties": {"results": items}}],
    }


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Spec:
    """One vendor's OpenAPI document, rewritten as JSON Schema."""

    vendor: str
    document: dict[str, Any]

    @property
    def uri(self) -> str:
        return f"urn:lms-graph:spec:{self.vendor}"

    def _at(self, pointer: str) -> Any:
        node: Any = self.document
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _response_pointer(self, path: str, status: str) -> str:
        """Pointer to the response object of ``GET path`` for ``status``, refs followed."""
        pointer = f"/paths/{_escape(path)}/get/responses/{status}"
        while isinstance(ref := self._at(pointer).get("$ref"), str):
            pointer = ref.removeprefix("#")
        return pointer

    def response_pointer(self, path: str, status: str = "200") -> str:
        """JSON pointer to the JSON response schema of ``GET path`` (a spec path template)."""
        return self._response_pointer(path, status) + "/content/application~1json/schema"

    def has_body(self, path: str, status: str = "200") -> bool:
        """Whether the document gives ``GET path`` a response body for ``status``."""
        return bool(self._at(self._response_pointer(path, status)).get("content"))

    def response_schema(self, path: str, status: str = "200") -> dict[str, Any]:
        return dict(self._at(self.response_pointer(path, status)))

    def validator(self, path: str, status: str = "200") -> Draft202012Validator:
        """Validates a response body of ``GET path`` against the document, refs resolved."""
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        registry: Registry[Any] = Registry().with_resource(self.uri, resource)
        schema: dict[str, Any] = {"$ref": f"{self.uri}#{self.response_pointer(path, status)}"}
        if (self.vendor, path, status) in DESCRIBED_PAGES:
            schema = _described_page(schema)
        return Draft202012Validator(schema, registry=registry)

    def inlined(
        self, path: str, status: str = "200", *, keep: set[str] | None = None
    ) -> dict[str, Any]:
        """The response schema with every ``$ref`` replaced by its target, for generators
        that resolve references themselves in ways that differ between versions.

        Args:
            keep: Property names to keep at every level (None: all). Generating only the
                properties a connector declares keeps generation fast; the others are
                ignored by its models (``extra="ignore"``), whatever their value.
        """
        inlined = _inline(self.response_schema(path, status), self.document, ())
        return inlined if keep is None else _prune(inlined, keep)

    def declares(self, path: str, parameter: str) -> bool:
        """Whether ``GET path`` declares the query parameter ``parameter``.

        A StackOne ``filter`` object parameter is sent as ``filter[name]`` (deepObject).
        """
        operation = self.document["paths"][path]["get"]
        names = {
            p.get("name")
            for p in [*self.document["paths"][path].get("parameters", []),
                      *operation.get("parameters", [])]
            if p.get("in") == "query"
        }  # fmt: skip
        return parameter in names or parameter.split("[", 1)[0] in names

    def get_paths(self) -> Iterator[str]:
        for path, item in self.document["paths"].items():
            if "get" in item:
                yield path


def _inline(node: Any, document: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, document, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        if ref in seen:
            raise ValueError(f"recursive reference {ref}")
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        rest = {key: value for key, value in node.items() if key != "$ref"}
        resolved = _inline(copy.deepcopy(target), document, (*seen, ref))
        return {"allOf": [resolved, _inline(rest, document, seen)]} if rest else resolved
    return {key: _inline(value, document, seen) for key, value in node.items()}


def _prune(node: Any, keep: set[str]) -> Any:
    if isinstance(node, list):
        return [_prune(item, keep) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _prune(value, keep) for key, value in node.items()}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: v for k, v in out["properties"].items() if k in keep}
        if isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name in keep]
    return out


@cache
def _load(vendor: str) -> Spec | None:
    file = SPECS_DIR / FILES[vendor]
    if not file.is_file():
        return None
    with file.open(encoding="utf-8") as handle:
        return Spec(vendor, as_json_schema(json.load(handle)))


def load_spec(vendor: str) -> Spec:
    """The vendor's document; skips the test without a checkout, fails without one in CI."""
    spec = _load(vendor)
    if spec is None:
        where = SPECS_DIR.resolve() / FILES[vendor]
        if os.environ.get("CI"):
            pytest.fail(f"vendor spec missing in CI: {where}")
        pytest.skip(f"vendor spec not checked out: {where}")
    return spec


def example_of(schema: Any, *, leaves: bool = False) -> Any:
    """A body built from a schema's own examples (``example`` / ``examples``), with the
    first branch of each choice that is not null and a plain value where none is given.

    Vendors' examples are what their API returns in practice, even where they disagree
    with the declared type, so the connectors must read them too.

    Args:
        leaves: Build objects and arrays from their parts' examples even where they have
            an example of their own (StackOne's ``score`` example hides the number 87
            its ``raw_value`` has as example).
    """
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    composite = any(key in schema for key in ("properties", "items", "allOf", "anyOf"))
    if not (leaves and composite):
        if "example" in schema:
            return copy.deepcopy(schema["example"])
        if isinstance(schema.get("examples"), list) and schema["examples"]:
            return copy.deepcopy(schema["examples"][0])
    for choice in ("anyOf", "oneOf"):
        if choice in schema:
            branches = [b for b in schema[choice] if b.get("type") != "null"] or schema[choice]
            return example_of(branches[0], leaves=leaves)
    if "allOf" in schema:
        parts = [example_of(part, leaves=leaves) for part in schema["allOf"]]
        objects = [part for part in parts if isinstance(part, dict)]
        if objects:
            return {key: value for part in objects for key, value in part.items()}
        return parts[0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if "enum" in schema:
        return next((v for v in schema["enum"] if v is not None), None)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {key: example_of(value, leaves=leaves) for key, value in properties.items()}
    if kind == "array":
        return [example_of(schema.get("items", {}), leaves=leaves)]
    return {
        "string": "2024-01-01T00:00:00Z" if schema.get("format") == "date-time" else "text",
        "integer": 1,
        "number": 1.5,
        "boolean": True,
    }.get(str(kind))
