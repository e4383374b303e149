"""compose.yaml as Docker Compose reads it: YAML anchors merged, checked against the
Compose spec, and ``${VAR}`` interpolated from a .env."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from compose_spec import PyCompose

__all__ = ["interpolate", "load_compose"]

#: The forms compose.yaml uses: ``${NAME}``, ``${NAME:?message}``, and ``$$`` for ``$``.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::\?(?P<message>[^}]*))?\}")


def load_compose(path: Path) -> dict[str, Any]:
    """The file's model, validated by the compose_spec crate (unknown keys, wrong enum
    values and wrong types are errors); YAML merge keys are applied first, as Compose
    does."""
    merged = yaml.safe_load(path.read_text(encoding="utf-8"))
    model: dict[str, Any] = PyCompose.from_json(json.dumps(merged)).to_dict()
    return model


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """``value`` as Compose passes it on, with ``env`` as the .env file."""
    if "$" in _VARIABLE.sub("", value):
        raise AssertionError(f"an interpolation form these tests do not read: {value!r}")

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name")
        if name not in env:
            raise AssertionError(f"required variable {name} unset: {match.group('message')}")
        return env[name]

    return _VARIABLE.sub(replace, value)
