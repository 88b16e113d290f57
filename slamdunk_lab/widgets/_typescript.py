"""JSON Schema (as pydantic writes it) → TypeScript declarations, for the page's contract.

Covers what pydantic emits for our models: objects with properties (interfaces), ``$ref`` to ``$defs``,
``anyOf``/``oneOf`` (unions, discriminated or not), ``enum`` and ``const`` (literal unions), arrays and tuples
(``prefixItems``), open objects (``additionalProperties``) and the scalar types. Titles and descriptions become
doc comments. Anything else is an error, so the contract never silently degrades to ``unknown``.
"""

from __future__ import annotations

import json
import re
from typing import Any

_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_SCALARS = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean", "null": "null"}
_IGNORED = {"title", "description", "default", "examples", "minimum", "maximum", "exclusiveMinimum",
            "exclusiveMaximum", "minLength", "maxLength", "pattern", "format", "minItems", "maxItems",
            "discriminator", "readOnly", "uniqueItems"}


class SchemaError(ValueError):
    """A JSON Schema construct the converter does not translate."""


def _key(name: str) -> str:
    return name if _IDENT.match(name) else json.dumps(name)


def _ref_name(ref: str) -> str:
    if not ref.startswith("#/$defs/"):
        raise SchemaError(f"only local $defs references are supported, got {ref!r}")
    return ref[len("#/$defs/"):]


def _doc(schema: dict, indent: str) -> list[str]:
    text = schema.get("description") or ""
    if not text:
        return []
    lines = text.strip().splitlines()
    if len(lines) == 1:
        return [f"{indent}/** {lines[0].replace('*/', '*∕')} */"]
    return [f"{indent}/**", *(f"{indent} * {line.replace('*/', '*∕')}".rstrip() for line in lines), f"{indent} */"]


def _union(parts: list[str]) -> str:
    seen: list[str] = []
    for p in parts:
        if p not in seen:
            seen.append(p)
    return " | ".join(seen) if seen else "never"


def ts_type(schema: Any, indent: str = "") -> str:
    """The TypeScript type of one schema (``$ref`` by name)."""
    if schema is True or schema == {}:
        return "unknown"
    if not isinstance(schema, dict):
        raise SchemaError(f"a schema must be an object, got {schema!r}")
    unknown = set(schema) - _IGNORED - {"type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const", "items",
                                         "prefixItems", "properties", "required", "additionalProperties", "propertyNames",
                                         "$defs"}
    if unknown:
        raise SchemaError(f"unsupported JSON Schema keywords {sorted(unknown)} in {schema}")
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "allOf" in schema:
        parts = schema["allOf"]
        if len(parts) != 1:
            raise SchemaError("allOf with more than one part is not supported")
        return ts_type(parts[0], indent)
    if "anyOf" in schema or "oneOf" in schema:
        return _union([_wrap(ts_type(s, indent)) for s in schema.get("anyOf") or schema["oneOf"]])
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    if "enum" in schema:
        return _union([json.dumps(v, ensure_ascii=False) for v in schema["enum"]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([ts_type({**schema, "type": k}, indent) for k in kind])
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        if "prefixItems" in schema:
            return "[" + ", ".join(ts_type(s, indent) for s in schema["prefixItems"]) + "]"
        return f"{_wrap(ts_type(schema.get('items', True), indent))}[]"
    if kind == "object" or "properties" in schema:
        return _object(schema, indent)
    if kind is None:
        return "unknown"
    raise SchemaError(f"unsupported type {kind!r}")


def _wrap(t: str) -> str:
    return f"({t})" if (" | " in t or t.startswith("{")) and not t.startswith("(") else t


def _object(schema: dict, indent: str) -> str:
    props: dict = schema.get("properties") or {}
    extra = schema.get("additionalProperties", True if not props else False)
    if not props:
        if extra is False:
            return "Record<string, never>"
        value = ts_type(extra, indent) if isinstance(extra, dict) else "unknown"
        keys = schema.get("propertyNames")
        if keys:  # a dict with literal keys: any of them may be there
            return f"Partial<Record<{ts_type(keys, indent)}, {value}>>"
        return f"Record<string, {value}>"
    required = set(schema.get("required") or [])
    inner = indent + "  "
    lines = ["{"]
    for name, prop in props.items():
        lines += _doc(prop, inner)
        lines.append(f"{inner}{_key(name)}{'' if name in required else '?'}: {ts_type(prop, inner)};")
    if extra not in (False, None):
        lines.append(f"{inner}[key: string]: {ts_type(extra, inner) if isinstance(extra, dict) else 'unknown'};")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def declaration(name: str, schema: dict) -> str:
    """``export interface Name {...}`` for an object with properties, else ``export type Name = ...;``."""
    lines = _doc(schema, "")
    body = ts_type(schema)
    if body.startswith("{") and "properties" in schema:
        lines.append(f"export interface {name} {body}")
    else:
        lines.append(f"export type {name} = {body};")
    return "\n".join(lines)


def const(name: str, value: Any, doc: str = "", *, literal: bool = True) -> str:
    """``export const NAME = <json> as const;`` (``literal=False``: without ``as const``, a plain mutable
    object) with an optional doc comment."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    head = [f"/** {doc} */"] if doc else []
    return "\n".join([*head, f"export const {name} = {text}{' as const' if literal else ''};"])
