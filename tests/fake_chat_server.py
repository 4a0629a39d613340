"""A test-only fault-injecting model server on 127.0.0.1 (stdlib http.server, one thread per request).

It speaks two wire protocols:
* OpenAI Chat Completions: ``POST /v1/chat/completions`` -> ``choices[0].message.content`` + ``usage``.
* Gemini REST: ``POST /<version>/models/<model>:generateContent`` -> ``candidates[0].content.parts`` +
  ``usageMetadata`` (what google-genai sends when ``http_options.base_url`` points here).

Every request takes the next fault from a scripted ``plan`` (then ``ok`` once the plan is used up):

    ok          a counting answer: N = number of images in the request, one ``repK`` per image
                interval, so tests can check that the frames and their ``<t seconds>`` labels arrived
    429         rate limited, no Retry-After        429-retry-after   rate limited, ``Retry-After: 1``
    500         server error                        timeout           sleep past the client timeout
    malformed   HTTP 200 with a body that is not JSON                 quota   a quota 429 (hard stop)
    no-choices  HTTP 200, valid JSON without ``choices`` (Chat Completions only)
    400         bad request that echoes the caller's credentials (the client must scrub them)
    401         the key is rejected (stops a run)
    rate-gemini a Gemini per-minute RESOURCE_EXHAUSTED with RetryInfo (retried, not a quota stop)

Received requests are recorded (arrival time, path, headers, JSON body, image count, frame labels,
fault) for assertions, and so is the most requests ever in flight at once (`max_in_flight`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_LABEL = re.compile(r"^<([0-9]+(?:\.[0-9]+)?) seconds>$")
TIMEOUT_SLEEP_S = 1.5  # longer than the tests' client timeout (0.5 s)


def _images_and_labels(body: dict) -> tuple[int, list[float]]:
    """Image parts and the `<t seconds>` labels in an OpenAI or Gemini request body."""
    images, labels = 0, []
    if "messages" in body:
        parts = [p for m in body["messages"] if isinstance(m.get("content"), list) for p in m["content"]]
        for part in parts:
            images += part.get("type") == "image_url" and part["image_url"]["url"].startswith("data:image/jpeg;base64,")
            match = _LABEL.match(part.get("text", "")) if part.get("type") == "text" else None
            labels += [float(match.group(1))] if match else []
    else:
        for part in (p for c in body.get("contents", []) for p in c.get("parts", [])):
            inline = part.get("inlineData") or part.get("inline_data") or {}
            images += inline.get("mimeType", inline.get("mime_type")) == "image/jpeg"
            match = _LABEL.match(part.get("text", ""))
            labels += [float(match.group(1))] if match else []
    return images, labels


def answer_text(labels: list[float]) -> str:
    """The server's reply: one rep per pair of consecutive labels, count = number of labels."""
    stamps = labels + [labels[-1] + 0.5] if labels else []
    reps = ", ".join(f"rep{k}: {stamps[k - 1]:.1f}s-{stamps[k]:.1f}s" for k in range(1, len(stamps)))
    return f"<think>\nThe video shows frames. Tracking each repetition: {reps}\nTotal count: {len(labels)}.\n</think>\n<answer>\n{len(labels)}\n</answer>"


class FakeChatServer:
    """``with FakeChatServer(plan) as server: server.url ...``; ``server.requests`` lists what arrived."""

    def __init__(self, plan: list[str] | None = None):
        self.plan = list(plan or [])
        self.requests: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> "FakeChatServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def next_fault(self) -> str:
        with self._lock:
            return self.plan.pop(0) if self.plan else "ok"

    def record(self, entry: dict) -> None:
        with self._lock:
            self.requests.append(entry)

    def track(self, delta: int) -> None:
        with self._lock:
            self.in_flight += delta
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def faults(self, name: str) -> int:
        return sum(r["fault"] == name for r in self.requests)


def _handler(server: FakeChatServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body, headers: dict | None = None) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        def do_POST(self) -> None:
            server.track(+1)
            try:
                self._answer()
            finally:
                server.track(-1)

        def _answer(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            gemini = ":generateContent" in self.path
            fault = server.next_fault()
            body = json.loads(raw or b"{}")
            images, labels = _images_and_labels(body)
            server.record({"time": time.monotonic(), "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                           "images": images, "labels": labels, "fault": fault})
            credentials = self.headers.get("Authorization", "") + self.headers.get("x-goog-api-key", "")
            if fault == "timeout":
                time.sleep(TIMEOUT_SLEEP_S)
                return self._send(200, _ok(gemini, labels, images))
            if fault == "malformed":
                return self._send(200, b'{"choices": [ {"message": truncated')
            if fault == "no-choices":
                return self._send(200, {"id": "chatcmpl-fake", "object": "chat.completion"})
            if fault in ("429", "429-retry-after"):
                headers = {"Retry-After": "1"} if fault == "429-retry-after" else {}
                return self._send(429, _error(gemini, 429, "Rate limit reached, slow down", "rate_limit_exceeded"), headers)
            if fault == "rate-gemini":
                return self._send(429, _gemini_quota("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"))
            if fault == "quota":
                if gemini:
                    return self._send(429, _gemini_quota("GenerateRequestsPerDayPerProjectPerModel-FreeTier"))
                return self._send(429, _error(False, 429, "You exceeded your current quota, please check your plan and billing details.", "insufficient_quota"))
            if fault == "500":
                return self._send(500, _error(gemini, 500, "The server had an error", "server_error"))
            if fault == "401":
                return self._send(401, _error(gemini, 401, "Incorrect API key provided", "invalid_api_key"))
            if fault == "400":
                return self._send(400, _error(gemini, 400, f"Invalid image in request (credentials: {credentials})", "invalid_request_error"))
            return self._send(200, _ok(gemini, labels, images))

    return Handler


def _ok(gemini: bool, labels: list[float], images: int) -> dict:
    text = answer_text(labels)
    prompt_tokens, completion_tokens = 100 + 10 * images, len(text.split())
    if gemini:
        return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": completion_tokens,
                                  "totalTokenCount": prompt_tokens + completion_tokens}}
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def _error(gemini: bool, code: int, message: str, kind: str) -> dict:
    if gemini:
        status = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}[code]
        return {"error": {"code": code, "message": message, "status": status}}
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


def _gemini_quota(quota_id: str) -> dict:
    return {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                      "message": "You exceeded your current quota, please check your plan and billing details.",
                      "details": [
                          {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                           "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                                           "quotaId": quota_id, "quotaValue": "50"}]},
                          {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.05s"},
                      ]}}
