"""The JSON Schema of a flow test file (`*.test.yaml`), the one definition of the format.

`schemas/flowtest.schema.json` is generated from it (a test fails when that copy
drifts), so editors with a YAML language server can check test files as you type:
put `# yaml-language-server: $schema=../schemas/flowtest.schema.json` on top.
"""

from __future__ import annotations

from typing import Any

from flowengine.core.durations import SCHEMA as DURATION

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "flowtest.schema.json",
    "title": "Flowengine flow test file (*.test.yaml)",
    "description": "Messages to send into a flow and what to expect at its nodes. See docs/flow-tests.md.",
    "type": "object",
    "required": ["cases"],
    "additionalProperties": False,
    "properties": {
        "flow": {
            "type": "string",
            "minLength": 1,
            "description": "The flow file, relative to this file; default: the file with the "
            "same stem (orders.test.yaml -> orders.flow)",
        },
        "name": {"type": "string", "minLength": 1, "description": "Which flow of the file, when it holds several"},
        "env": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Environment variables for ${NAME} references while testing",
        },
        "cases": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/case"}},
    },
    "$defs": {
        "case": {
            "type": "object",
            "required": ["name", "send"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "send": {
                    "type": "object",
                    "minProperties": 1,
                    "description": "node name -> a message or a list of messages, sent in the order written",
                    "additionalProperties": {
                        "oneOf": [{"$ref": "#/$defs/message"}, {"type": "array", "items": {"$ref": "#/$defs/message"}}]
                    },
                },
                "stubs": {
                    "type": "object",
                    "description": "node name -> what the node answers instead of "
                    "doing its work; a list answers successive calls "
                    "(the last one repeats)",
                    "additionalProperties": {
                        "oneOf": [
                            {"$ref": "#/$defs/stub"},
                            {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/stub"}},
                        ]
                    },
                },
                "expect": {
                    "type": "object",
                    "description": "node name -> the messages it passed on, in order (a list of matchers), or how many",
                    "additionalProperties": {
                        "oneOf": [
                            {"type": "integer", "minimum": 0},
                            {"type": "array", "items": {"$ref": "#/$defs/matcher"}},
                        ]
                    },
                },
                "errors": {
                    "type": "object",
                    "description": "node name -> the failure expected there; "
                    "without this section any failure fails the "
                    "case",
                    "additionalProperties": {"$ref": "#/$defs/error"},
                },
                "outcome": {"enum": ["ack", "nack"], "description": "The verdict for every message sent (default ack)"},
                "wait": {
                    **DURATION,
                    "description": "After the messages sent have finished, keep the flow running this long "
                    "(at most 60s) so what nodes emit on their own schedule (an aggregate's timeout, a delay) "
                    "is seen too",
                },
                "reply": {
                    "description": "The reply an http.reply made (null: none)",
                    "oneOf": [{"type": "null"}, {"$ref": "#/$defs/reply"}],
                },
            },
        },
        "message": {
            "type": "object",
            "additionalProperties": False,
            "oneOf": [{"required": ["json"]}, {"required": ["body"]}],
            "properties": {
                "json": {"description": "A JSON body"},
                "body": {"type": "string", "description": "A text body (UTF-8)"},
                "content_type": {"type": "string"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "attributes": {"type": "object"},
                "id": {"type": "string"},
            },
        },
        "stub": {
            "type": "object",
            "additionalProperties": False,
            "oneOf": [{"required": ["json"]}, {"required": ["body"]}, {"required": ["error"]}],
            "properties": {
                "json": {},
                "body": {"type": "string"},
                "content_type": {"type": "string"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "error": {"type": "string", "description": "Fail with this message"},
                "type": {
                    "enum": ["bad_message", "validation", "node_failed", "delivery_failed"],
                    "description": "The error's type (default delivery_failed)",
                },
            },
        },
        "matcher": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "json": {"description": "The JSON body, exactly"},
                "subset": {"description": "These members (recursively) of the JSON body"},
                "body": {"type": "string", "description": "The text body, exactly"},
                "where": {
                    "description": "Expressions (as in a flow) that must all be true for the message",
                    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                },
                "headers": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "These headers",
                },
                "attributes": {"type": "object", "description": "These attributes"},
                "content_type": {"type": "string"},
            },
        },
        "error": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "type": {"enum": ["bad_message", "validation", "too_large", "node_failed", "delivery_failed", "error"]},
                "message": {"type": "string", "description": "A part of the error message"},
                "routed_to": {
                    "description": "The error route that took the message (null: none)",
                    "type": ["string", "null"],
                },
            },
        },
        "reply": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "status": {"type": "integer"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "json": {},
                "subset": {},
                "body": {"type": "string"},
                "where": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                "content_type": {"type": "string"},
            },
        },
    },
}
