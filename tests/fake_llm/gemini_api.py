"""Gemini API (generativelanguage v1beta), as `gemini -p` calls it.

Turns: POST /v1beta/models/MODEL:streamGenerateContent?alt=sse (events "data: JSON\\r\\n\\r\\n")
or :generateContent. Side requests: :countTokens, GET .../models, and JSON-mode requests
(generationConfig.responseMimeType "application/json", e.g. the CLI's model router), which
get a value built from their schema. write_file -> write_file, shell -> run_shell_command.
"""
import json
import re
import time

from scenario import text_pieces, tool_calls, usage

NAME = "gemini"
ERRORS = {  # status -> (google.rpc code name, default message)
    400: ("INVALID_ARGUMENT", "fake_llm: request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "fake_llm: request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "fake_llm: the caller does not have permission."),
    404: ("NOT_FOUND", "fake_llm: requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "fake_llm: you exceeded your current quota."),
    500: ("INTERNAL", "fake_llm: an internal error has occurred."),
    503: ("UNAVAILABLE", "fake_llm: the model is overloaded."),
    504: ("DEADLINE_EXCEEDED", "fake_llm: deadline exceeded."),
}
SCALARS = {"string": "fake", "number": 1, "integer": 1, "boolean": False, "array": [], "null": None}


def error(status, message=None, retry_after=None):
    """(body, headers) of an error answer with this HTTP status."""
    name, text = ERRORS.get(status, ("UNKNOWN", f"fake_llm: error {status}"))
    err = {"code": status, "message": message or text, "status": name}
    if retry_after is None:
        return {"error": err}, {}
    err["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"}]
    return {"error": err}, {"retry-after": str(retry_after)}


def _model_method(route):
    m = re.search(r"/models/([^/:]+):(\w+)$", route)
    return (m.group(1), m.group(2)) if m else (None, None)


def value_for(schema):
    """A JSON value that fits a (simple) JSON or OpenAPI schema."""
    if not isinstance(schema, dict):
        return None
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return value_for(schema[key][0])
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "object")
    kind = (kind[0] if isinstance(kind, list) and kind else kind or "object").lower()
    if kind == "object":
        return {k: value_for(v) for k, v in (schema.get("properties") or {}).items()}
    return SCALARS.get(kind)


def _json_mode(body):
    config = body.get("generationConfig") or {}
    return config.get("responseMimeType") == "application/json"


def side_answer(req):
    """(status, JSON body or events, note) for a request that takes no turn; None for a model turn."""
    model, method = _model_method(req.route)
    if req.method == "GET" and req.route.rstrip("/").endswith("/models"):
        return 200, {"models": [{"name": "models/gemini-2.5-flash", "displayName": "gemini-2.5-flash",
                                 "supportedGenerationMethods": ["generateContent", "countTokens"]}]}, "models"
    if req.method == "POST" and method == "countTokens":
        return 200, {"totalTokens": 100}, "countTokens"
    if req.method != "POST" or method not in ("generateContent", "streamGenerateContent"):
        return 404, error(404, f"fake_llm: no route {req.method} {req.route}")[0], "unknown route"
    if not _json_mode(req.body):
        return None
    config = req.body["generationConfig"]
    value = value_for(config.get("responseJsonSchema") or config.get("responseSchema") or {})
    reply = _response(model, [{"text": json.dumps(value)}], usage({}), True)
    return 200, ([_sse(reply)] if streams(req) else reply), "json-mode"


def prompt_text(body):
    """Every text part of the user's contents, newline-joined (function responses left out)."""
    return "\n".join(p["text"] for c in body.get("contents", []) if c.get("role") == "user"
                     for p in c.get("parts", []) if isinstance(p, dict) and isinstance(p.get("text"), str))


def turn_index(body):
    """How many model turns `contents` holds (a run of model contents is one)."""
    roles = [c.get("role") for c in body.get("contents", [])]
    return sum(1 for i, r in enumerate(roles) if r == "model" and (i == 0 or roles[i - 1] != "model"))


def streams(req):
    return _model_method(req.route)[1] == "streamGenerateContent"


def _calls(turn):
    parts = []
    for kind, value in tool_calls(turn):
        if kind == "write_file":
            call = {"name": "write_file", "args": {"file_path": value["path"], "content": value["content"]}}
        else:
            call = {"name": "run_shell_command", "args": {"command": value, "description": "Run the scripted command"}}
        parts.append({"functionCall": call})
    return parts


def _response(model, parts, counts, finished):
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finished:
        candidate["finishReason"] = "STOP"
    return {"candidates": [candidate], "modelVersion": model or "gemini-2.5-flash",
            "responseId": f"fake-{time.time_ns()}",
            "usageMetadata": {"promptTokenCount": counts["input_tokens"],
                              "candidatesTokenCount": counts["output_tokens"],
                              "totalTokenCount": counts["input_tokens"] + counts["output_tokens"]}}


def message(req, turn):
    """The whole answer as one GenerateContentResponse (:generateContent)."""
    parts = ([{"text": turn["text"]}] if "text" in turn else []) + _calls(turn)
    return _response(_model_method(req.route)[0], parts or [{"text": ""}], usage(turn), True)


def _sse(obj):
    return f"data: {json.dumps(obj)}\r\n\r\n".encode()


def events(req, turn):
    """The answer as streamed chunks: the text in pieces; the calls and finishReason come last."""
    model, counts = _model_method(req.route)[0], usage(turn)
    pieces = text_pieces(turn["text"]) if "text" in turn else []
    chunks = [_response(model, [{"text": p}], counts, False) for p in pieces[:-1]]
    last = [{"text": p} for p in pieces[-1:]] + _calls(turn)
    chunks.append(_response(model, last or [{"text": ""}], counts, True))
    return [_sse(c) for c in chunks]
