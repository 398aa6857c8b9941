"""OpenAI Responses API, as `codex exec` calls it (wire_api = "responses").

Turns: POST <base_url>/responses, streamed when "stream" is true. Side requests: GET <base_url>/models.
shell -> an exec_command function call {"cmd"}; write_file -> exec_command running
`apply_patch <<'PATCH' ... PATCH` (codex intercepts it and applies the patch itself), or the
custom (freeform) tool apply_patch when the request offers one.
"""
import json
import time
import uuid

from scenario import text_pieces, tool_calls, usage

NAME = "openai"
MODEL_ITEM_TYPES = {"function_call", "custom_tool_call", "reasoning"}
ERRORS = {  # status -> (type, code, default message)
    400: ("invalid_request_error", None, "fake_llm: invalid request"),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-fake***."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "fake_llm: forbidden"),
    404: ("invalid_request_error", None, "fake_llm: not found"),
    429: ("requests", "rate_limit_exceeded", "fake_llm: rate limit reached for requests"),
    500: ("server_error", None, "fake_llm: the server had an error while processing your request"),
    503: ("server_error", None, "fake_llm: the engine is currently overloaded"),
}


def error(status, message=None, retry_after=None):
    """(body, headers) of an error answer with this HTTP status."""
    kind, code, text = ERRORS.get(status, ("server_error", None, f"fake_llm: error {status}"))
    body = {"error": {"message": message or text, "type": kind, "param": None, "code": code}}
    return body, ({"retry-after": str(retry_after)} if retry_after is not None else {})


def side_answer(req):
    """(status, JSON body, note) for a request that takes no turn; None for a model turn."""
    route = req.route.rstrip("/")
    if req.method == "POST" and route.endswith("/responses"):
        return None
    if req.method == "GET" and route.endswith("/models"):
        return 200, {"object": "list", "data": [
            {"id": "mock-model", "object": "model", "created": 0, "owned_by": "fake_llm"}]}, "models"
    return 404, error(404, f"fake_llm: no route {req.method} {req.route}")[0], "unknown route"


def _user_texts(item):
    content = item.get("content")
    if isinstance(content, str):
        return [content]
    return [p.get("text", "") for p in content or []
            if isinstance(p, dict) and p.get("type") in ("input_text", "text")]


def prompt_text(body):
    """The text of every user message in `input`, newline-joined."""
    items = body.get("input")
    if isinstance(items, str):
        return items
    return "\n".join(t for item in items or [] if isinstance(item, dict) and item.get("role") == "user"
                     for t in _user_texts(item))


def _is_model_output(item):
    kind = item.get("type", "message")
    return kind in MODEL_ITEM_TYPES or (kind == "message" and item.get("role") == "assistant")


def turn_index(body):
    """How many model turns `input` holds: runs of consecutive model-output items."""
    items = body.get("input")
    if not isinstance(items, list):
        return 0
    flags = [isinstance(i, dict) and _is_model_output(i) for i in items]
    return sum(1 for n, f in enumerate(flags) if f and (n == 0 or not flags[n - 1]))


def streams(req):
    return bool(req.body.get("stream"))


def add_file_patch(path, content):
    """An apply_patch text that creates PATH with CONTENT (apply_patch ends the file with a newline)."""
    lines = content.split("\n")
    if lines[-1] == "":
        lines.pop()
    added = "".join("+" + line + "\n" for line in lines)
    return f"*** Begin Patch\n*** Add File: {path}\n{added}*** End Patch\n"


def _offers_custom_apply_patch(body):
    return any(isinstance(t, dict) and t.get("type") == "custom" and t.get("name") == "apply_patch"
               for t in body.get("tools") or [])


def _call_item(kind, value, custom_patch):
    call_id = "call_" + uuid.uuid4().hex[:20]
    if kind == "write_file" and custom_patch:
        return {"type": "custom_tool_call", "id": "ctc_" + call_id[5:], "call_id": call_id,
                "status": "completed", "name": "apply_patch",
                "input": add_file_patch(value["path"], value["content"])}
    if kind == "write_file":
        # every patch line starts with "+" or "***", so none can end the heredoc early
        value = "apply_patch <<'PATCH'\n" + add_file_patch(value["path"], value["content"]) + "PATCH"
    return {"type": "function_call", "id": "fc_" + call_id[5:], "call_id": call_id, "status": "completed",
            "name": "exec_command", "arguments": json.dumps({"cmd": value})}


def _output(req, turn):
    items = []
    if "text" in turn:
        items.append({"type": "message", "id": "msg_" + uuid.uuid4().hex[:20], "role": "assistant",
                      "status": "completed",
                      "content": [{"type": "output_text", "text": turn["text"], "annotations": []}]})
    custom_patch = _offers_custom_apply_patch(req.body)
    items += [_call_item(kind, value, custom_patch) for kind, value in tool_calls(turn)]
    return items


def _usage(turn):
    u = usage(turn)
    return {"input_tokens": u["input_tokens"], "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": u["output_tokens"], "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": u["input_tokens"] + u["output_tokens"]}


def message(req, turn):
    """The whole answer as one completed Response object (non-streaming requests)."""
    return {"id": "resp_" + uuid.uuid4().hex[:24], "object": "response", "created_at": int(time.time()),
            "status": "completed", "model": req.body.get("model") or "mock-model",
            "output": _output(req, turn), "usage": _usage(turn)}


def _item_events(index, item):
    """(type, data) pairs that stream one output item."""
    if item["type"] != "message":
        return [("response.output_item.added", {"output_index": index, "item": {**item, "status": "in_progress"}}),
                ("response.output_item.done", {"output_index": index, "item": item})]
    text, where = item["content"][0]["text"], {"item_id": item["id"], "output_index": index, "content_index": 0}
    empty_part = {"type": "output_text", "text": "", "annotations": []}
    return [("response.output_item.added",
             {"output_index": index, "item": {**item, "status": "in_progress", "content": []}}),
            ("response.content_part.added", {**where, "part": empty_part}),
            *[("response.output_text.delta", {**where, "delta": p}) for p in text_pieces(text)],
            ("response.output_text.done", {**where, "text": text}),
            ("response.content_part.done", {**where, "part": item["content"][0]}),
            ("response.output_item.done", {"output_index": index, "item": item})]


def events(req, turn):
    """The answer as the list of server-sent events of a streamed Response."""
    done = message(req, turn)
    running = {**done, "status": "in_progress", "output": [], "usage": None}
    pairs = [("response.created", {"response": running}), ("response.in_progress", {"response": running})]
    for index, item in enumerate(done["output"]):
        pairs += _item_events(index, item)
    pairs.append(("response.completed", {"response": done}))
    return [f"event: {kind}\ndata: {json.dumps({'type': kind, 'sequence_number': n, **data})}\n\n".encode()
            for n, (kind, data) in enumerate(pairs)]
