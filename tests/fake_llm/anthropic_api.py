"""Anthropic Messages API, as `claude -p` calls it.

Turns: POST /v1/messages (claude appends ?beta=true), streamed unless "stream" is false.
Side requests: POST /v1/messages/count_tokens, GET /v1/models.
write_file -> the Write tool, read_file -> Read, edit_file -> Edit, shell -> the Bash tool.
"""
import json
import uuid

from scenario import text_pieces, tool_calls, usage

NAME = "anthropic"
MODELS = ("claude-opus-4-8", "claude-sonnet-4-5", "claude-haiku-4-5")
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 529: "overloaded_error"}
ERROR_TEXT = {401: "invalid x-api-key", 429: "fake_llm: rate limit reached, slow down",
              529: "Overloaded", 500: "fake_llm: internal server error"}


def error(status, message=None, retry_after=None):
    """(body, headers) of an error answer with this HTTP status."""
    body = {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"),
                                       "message": message or ERROR_TEXT.get(status, f"fake_llm: error {status}")}}
    return body, ({"retry-after": str(retry_after)} if retry_after is not None else {})


def side_answer(req):
    """(status, JSON body, note) for a request that takes no turn; None for a model turn."""
    if req.method == "POST" and req.route == "/v1/messages":
        return None
    if req.method == "POST" and req.route == "/v1/messages/count_tokens":
        return 200, {"input_tokens": 100}, "count_tokens"
    if req.method == "GET" and req.route.rstrip("/") == "/v1/models":
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in MODELS]
        return 200, {"data": data, "has_more": False, "first_id": MODELS[0], "last_id": MODELS[-1]}, "models"
    return 404, error(404, f"fake_llm: no route {req.method} {req.route}")[0], "unknown route"


def _texts(content):
    """The text blocks of a message's content (a string counts as one)."""
    if isinstance(content, str):
        return [content]
    return [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]


def prompt_text(body):
    """Every text the user wrote in the conversation, newline-joined (tool results left out)."""
    return "\n".join(t for m in body.get("messages", []) if m.get("role") == "user"
                     for t in _texts(m.get("content")))


def turn_index(body):
    """How many assistant turns the conversation holds (a run of assistant messages is one)."""
    roles = [m.get("role") for m in body.get("messages", [])]
    return sum(1 for i, r in enumerate(roles) if r == "assistant" and (i == 0 or roles[i - 1] != "assistant"))


def streams(req):
    return bool(req.body.get("stream"))


def _blocks(turn):
    blocks = [{"type": "text", "text": turn["text"]}] if "text" in turn else []
    for kind, value in tool_calls(turn):
        if kind == "write_file":
            name, args = "Write", {"file_path": value["path"], "content": value["content"]}
        elif kind == "read_file":
            name, args = "Read", {"file_path": value}
        elif kind == "edit_file":  # claude refuses to edit a file it has not Read in the session
            name, args = "Edit", {"file_path": value["path"], "old_string": value["old"],
                                  "new_string": value["new"], "replace_all": False}
        else:
            name, args = "Bash", {"command": value, "description": "Run the scripted command"}
        blocks.append({"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:24], "name": name, "input": args})
    return blocks or [{"type": "text", "text": ""}]


def _usage(turn):
    u = usage(turn)
    return {"input_tokens": u["input_tokens"], "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0, "output_tokens": u["output_tokens"]}


def message(req, turn):
    """The whole answer as one Message object (non-streaming requests)."""
    return {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
            "model": req.body.get("model") or MODELS[0], "content": _blocks(turn),
            "stop_reason": "tool_use" if tool_calls(turn) else "end_turn", "stop_sequence": None,
            "usage": _usage(turn)}


def _sse(kind, data):
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def _block_events(index, block):
    if block["type"] == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in text_pieces(block["text"])]
    else:
        start = {**block, "input": {}}
        args = json.dumps(block["input"])
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in text_pieces(args)]
    yield _sse("content_block_start", {"index": index, "content_block": start})
    for delta in deltas:
        yield _sse("content_block_delta", {"index": index, "delta": delta})
    yield _sse("content_block_stop", {"index": index})


def events(req, turn):
    """The answer as the list of server-sent events of a streamed Message."""
    msg = message(req, turn)
    head = {**msg, "content": [], "stop_reason": None, "usage": {**msg["usage"], "output_tokens": 1}}
    out = [_sse("message_start", {"message": head}), _sse("ping", {})]
    for index, block in enumerate(msg["content"]):
        out += _block_events(index, block)
    out.append(_sse("message_delta", {"delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                                      "usage": msg["usage"]}))
    out.append(_sse("message_stop", {}))
    return out
