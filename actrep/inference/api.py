"""Provider clients for counting with hosted (or locally served) multimodal models.

One provider-neutral request (`ApiRequest`: system text, ``(timestamp, jpeg)`` frames, question)
is built from a `SampledVideo` here, then a thin adapter per provider turns it into the SDK call:
OpenAI Chat Completions (``openai``; also any OpenAI-compatible server such as vLLM or SGLang via
``base_url``) and Gemini (``google-genai``). Every frame is preceded by a text label with its time on
the clip clock in Qwen3-VL's own format, ``<1.2 seconds>``, so the model can list repetition
intervals in seconds exactly as the fine-tuned Qwen-VL models do.

Retries are ours, never the SDKs' (both are built with retries off), so the count is recorded per
prediction. Failure classes (docs/eval_api.md):
  retried with backoff   429 rate limits, 408/409/5xx, timeouts, connection errors, malformed bodies
  `QuotaExceeded`        OpenAI ``insufficient_quota``; Gemini RESOURCE_EXHAUSTED on a per-day quota
  `FatalApiError`        401/403/404: wrong key, no access, unknown model or URL (stops a run)
  `ApiError`             any other 4xx: this request is refused for good (one failed video)
  `RetriesExhausted`     a retryable failure that outlived ``max_retries``
The API key comes only from the environment and is scrubbed from every message we raise.
"""

from __future__ import annotations

import email.utils
import io
import json
import os
import random
import re
import threading
import time
from dataclasses import dataclass

from actrep.config import option
from actrep.errors import ActRepError
from actrep.prompts import question, system_prompt

PROVIDERS = ("openai", "gemini", "openai-compatible")
KEY_ENVS = {"openai": ("OPENAI_API_KEY",), "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "openai-compatible": ()}
NO_KEY = "EMPTY"  # what vLLM / SGLang accept when they were started without --api-key


@dataclass
class ApiSettings:
    api_key_env: str = option("", help="Environment variable holding the API key. Default: OPENAI_API_KEY (openai), GEMINI_API_KEY then GOOGLE_API_KEY (gemini), none (openai-compatible: the key 'EMPTY').")
    timeout: float = option(120.0, help="Seconds one request may take before it is abandoned and retried.")
    max_retries: int = option(5, help="Retries per video on 429 / 5xx / timeouts / connection errors / malformed replies.")
    initial_backoff: float = option(1.0, help="First retry delay in seconds; doubles on every retry (with jitter).")
    max_backoff: float = option(60.0, help="Longest wait between retries in seconds (also caps a server's Retry-After).")
    image_max_side: int = option(512, help="Frames are downscaled so their longest side is at most this many pixels (never upscaled).")
    jpeg_quality: int = option(85, help="JPEG quality of the frames sent (1-95).")
    image_detail: str = option("auto", help="OpenAI image detail: auto, low or high (ignored by Gemini).")
    temperature: float = option(0.0, help="Sampling temperature (0: greedy, as local eval). OpenAI reasoning models accept only 1.")
    max_tokens: int = option(4096, help="Most tokens generated per video (reasoning/thinking tokens included where the provider counts them).")

    def __post_init__(self):
        if self.timeout <= 0 or self.max_retries < 0 or self.initial_backoff < 0 or self.max_backoff < 0:
            raise ActRepError("api settings: need timeout > 0 and max_retries, initial_backoff, max_backoff >= 0")
        if self.image_max_side < 16 or not 1 <= self.jpeg_quality <= 95 or self.max_tokens < 1:
            raise ActRepError("api settings: need image_max_side >= 16, 1 <= jpeg_quality <= 95, max_tokens >= 1")
        if self.image_detail not in ("auto", "low", "high"):
            raise ActRepError(f"api settings: image_detail must be auto, low or high (got {self.image_detail!r})")


@dataclass
class ApiAnswer:
    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    retries: int


@dataclass
class ApiRequest:
    """The provider-neutral message: system text, then each frame after its time label, then the question."""

    system: str
    frames: list[tuple[float, bytes]]  # (seconds on the clip clock, JPEG bytes)
    question: str


class ApiError(ActRepError):
    """A request that failed for good; `retries` says how many retries were spent on it."""

    def __init__(self, message: str, retries: int = 0):
        super().__init__(message)
        self.retries = retries


class RetriesExhausted(ApiError):
    pass


class FatalApiError(ApiError):
    """The service refuses the whole run (wrong key, unknown model): stop submitting."""


class QuotaExceeded(FatalApiError):
    pass


class Cancelled(Exception):
    """The caller's stop event was set while this request waited to retry."""


@dataclass
class _Failure:
    kind: str  # "retry", "quota", "fatal" or "fail"
    message: str
    retry_after: float | None = None


# ------------------------------------------------------------------------------------------ message


def timestamp_label(seconds: float) -> str:
    """Qwen3-VL's frame time label: 1.23 -> '<1.2 seconds>'."""
    return f"<{seconds:.1f} seconds>"


def encode_jpeg(frame, max_side: int, quality: int) -> bytes:
    from PIL import Image

    image = Image.fromarray(frame)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # keeps the aspect, never upscales
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def build_request(video, action: str, variant: str, settings: ApiSettings) -> ApiRequest:
    frames = [(t, encode_jpeg(f, settings.image_max_side, settings.jpeg_quality)) for t, f in zip(video.timestamps, video.frames)]
    return ApiRequest(system_prompt(variant), frames, question(action, variant))


def openai_messages(request: ApiRequest, detail: str = "auto") -> list[dict]:
    import base64

    content: list[dict] = []
    for seconds, jpeg in request.frames:
        url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
        content += [{"type": "text", "text": timestamp_label(seconds)},
                    {"type": "image_url", "image_url": {"url": url, "detail": detail}}]
    content.append({"type": "text", "text": request.question})
    return [{"role": "system", "content": request.system}, {"role": "user", "content": content}]


def gemini_contents(request: ApiRequest) -> list:
    from google.genai import types

    parts = []
    for seconds, jpeg in request.frames:
        parts += [types.Part.from_text(text=timestamp_label(seconds)), types.Part.from_bytes(data=jpeg, mime_type="image/jpeg")]
    parts.append(types.Part.from_text(text=request.question))
    return [types.Content(role="user", parts=parts)]


# ------------------------------------------------------------------------------------------ errors


def _transport_errors() -> tuple[type, ...]:
    """Timeout/connection exception bases of whichever httpx flavours the SDKs use."""
    found = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(__import__(name).TransportError)
        except ImportError:
            pass
    return tuple(found)


def _retry_after(headers) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date), if present."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            pass
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None  # unreadable: fall back to our own backoff
    return None


def _gemini_details(err) -> list[dict]:
    details = err.details if isinstance(err.details, dict) else {}
    found = details.get("error", details).get("details")
    return [d for d in found if isinstance(d, dict)] if isinstance(found, list) else []


def classify_gemini(err: Exception) -> _Failure | None:
    """Gemini errors. A 429 is a quota stop only when a QuotaFailure names a per-day quota: per-minute
    quotas and plain rate limits share the RESOURCE_EXHAUSTED status and pass within a minute."""
    from google.genai import errors

    if isinstance(err, json.JSONDecodeError):
        return _Failure("retry", f"malformed response body ({err.msg})")
    if isinstance(err, _transport_errors()):
        return _Failure("retry", f"{type(err).__name__}: {err}")
    if not isinstance(err, errors.APIError):
        return None
    message = f"HTTP {err.code} {err.status}: {err.message}"
    details = _gemini_details(err)
    if err.code == 429:
        violations = [v for d in details for v in d.get("violations") or [] if isinstance(v, dict)]
        if any("PerDay" in str(v.get("quotaId", "")) + str(v.get("quotaMetric", "")) for v in violations):
            return _Failure("quota", message)
        delay = next((d.get("retryDelay") for d in details if str(d.get("@type", "")).endswith("RetryInfo")), None)
        seconds = float(delay[:-1]) if isinstance(delay, str) and re.fullmatch(r"[0-9.]+s", delay) else None
        return _Failure("retry", message, seconds if seconds is not None else _retry_after(getattr(err.response, "headers", None)))
    return _status_failure(err.code, message, getattr(err.response, "headers", None))


def classify_openai(err: Exception) -> _Failure | None:
    """OpenAI errors. A 429 is a quota stop only for `insufficient_quota` (billing, not rate)."""
    import openai

    if isinstance(err, (json.JSONDecodeError, openai.APIResponseValidationError)):
        return _Failure("retry", f"malformed response body ({err})")
    if isinstance(err, openai.APIConnectionError):  # includes APITimeoutError
        return _Failure("retry", f"{type(err).__name__}: {err}")
    if not isinstance(err, openai.APIStatusError):
        return None
    body = err.body if isinstance(err.body, dict) else {}
    message = f"HTTP {err.status_code}: {body.get('message') or err.message}"
    if err.status_code == 429 and "insufficient_quota" in (str(err.code), str(err.type)):
        return _Failure("quota", message)
    return _status_failure(err.status_code, message, err.response.headers)


def _status_failure(status: int, message: str, headers) -> _Failure:
    if status in (408, 409, 429) or status >= 500:
        return _Failure("retry", message, _retry_after(headers))
    if status in (401, 403, 404):
        return _Failure("fatal", message)
    return _Failure("fail", message)


# ------------------------------------------------------------------------------------------ adapters


class _MalformedResponse(Exception):
    pass


class _OpenAIAdapter:
    classify = staticmethod(classify_openai)

    def __init__(self, model: str, base_url: str | None, api_key: str, settings: ApiSettings, compatible: bool):
        import openai

        self.model, self.settings, self.compatible = model, settings, compatible
        self.sdk = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=settings.timeout)
        self.base_url = str(self.sdk.base_url)

    def call(self, request: ApiRequest) -> tuple[str, int | None, int | None]:
        # OpenAI's reasoning models reject max_tokens; older vLLM/SGLang servers only know max_tokens.
        limit = {"max_tokens" if self.compatible else "max_completion_tokens": self.settings.max_tokens}
        response = self.sdk.chat.completions.create(model=self.model, messages=openai_messages(request, self.settings.image_detail),
                                                    temperature=self.settings.temperature, **limit)
        message = getattr(response.choices[0], "message", None) if getattr(response, "choices", None) else None
        if message is None:
            raise _MalformedResponse("the reply has no choices[0].message")
        usage = response.usage
        return (message.content or getattr(message, "refusal", None) or "",
                getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None))


class _GeminiAdapter:
    classify = staticmethod(classify_gemini)

    def __init__(self, model: str, base_url: str | None, api_key: str, settings: ApiSettings):
        from google import genai
        from google.genai import types

        self.model, self.settings, self.base_url = model, settings, base_url
        options = types.HttpOptions(base_url=base_url, timeout=int(settings.timeout * 1000),
                                    retry_options=types.HttpRetryOptions(attempts=1))  # one attempt: retries are ours
        self.sdk = genai.Client(api_key=api_key, vertexai=False, http_options=options)
        self.config = types.GenerateContentConfig(temperature=settings.temperature, max_output_tokens=settings.max_tokens)

    def call(self, request: ApiRequest) -> tuple[str, int | None, int | None]:
        config = self.config.model_copy(update={"system_instruction": request.system})
        response = self.sdk.models.generate_content(model=self.model, contents=gemini_contents(request), config=config)
        if not response.candidates:
            feedback = getattr(response, "prompt_feedback", None)
            raise ApiError(f"no answer (prompt blocked: {getattr(feedback, 'block_reason', None) or 'no reason given'})")
        content = response.candidates[0].content
        text = "".join(p.text for p in (content.parts or []) if p.text and not p.thought) if content else ""
        usage = response.usage_metadata
        completion = None
        if usage is not None and usage.candidates_token_count is not None:
            completion = usage.candidates_token_count + (usage.thoughts_token_count or 0)  # thinking is billed as output
        return text, getattr(usage, "prompt_token_count", None), completion


# ------------------------------------------------------------------------------------------ client


def api_key_from_env(provider: str, env_name: str = "") -> str:
    """The key from the environment (never from a flag or file); 'EMPTY' for a key-less local server."""
    names = (env_name,) if env_name else KEY_ENVS[provider]
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    if not names:
        return NO_KEY
    raise ActRepError(f"no API key for {provider}: set the environment variable {' or '.join(names)}")


class ApiClient:
    """``count(video, action, variant)`` against one provider and model, with our retries."""

    def __init__(self, provider: str, model: str, adapter, api_key: str, settings: ApiSettings):
        self.provider, self.model, self.settings = provider, model, settings
        self.base_url = adapter.base_url
        self._adapter, self._key = adapter, api_key

    def count(self, video, action: str, variant: str = "think", stop: threading.Event | None = None) -> ApiAnswer:
        return self.send(build_request(video, action, variant, self.settings), stop)

    def send(self, request: ApiRequest, stop: threading.Event | None = None) -> ApiAnswer:
        retries = 0
        while True:
            try:
                text, prompt_tokens, completion_tokens = self._adapter.call(request)
                return ApiAnswer(text, prompt_tokens, completion_tokens, retries)
            except _MalformedResponse as err:
                failure = _Failure("retry", f"malformed response ({err})")
            except ApiError as err:
                raise ApiError(self.scrub(str(err)), retries) from None
            except Exception as err:  # noqa: BLE001 - classified below; unknown errors re-raised
                failure = self._adapter.classify(err)
                if failure is None:
                    raise
            message = self.scrub(failure.message)
            if failure.kind == "quota":
                raise QuotaExceeded(f"quota exhausted: {message}", retries) from None
            if failure.kind == "fatal":
                raise FatalApiError(message, retries) from None
            if failure.kind == "fail":
                raise ApiError(message, retries) from None
            if retries >= self.settings.max_retries:
                raise RetriesExhausted(f"gave up after {retries} retries: {message}", retries) from None
            delay = self._delay(retries, failure.retry_after)
            if stop is None:
                time.sleep(delay)
            elif stop.wait(delay):
                raise Cancelled()
            retries += 1

    def _delay(self, retries: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.settings.max_backoff)  # the server knows best, within our cap
        delay = min(self.settings.max_backoff, self.settings.initial_backoff * 2**retries)
        return random.uniform(delay / 2, delay)  # jitter: concurrent workers must not retry in lockstep

    def scrub(self, text: str) -> str:
        """One line, key removed (SDK errors may echo request headers or bodies)."""
        text = " ".join(str(text).split())
        if self._key and self._key != NO_KEY:
            text = text.replace(self._key, "***")
        return text[:500]


def make_client(provider: str, model: str, base_url: str | None = None, settings: ApiSettings | None = None) -> ApiClient:
    """A ready client for `provider` ('openai', 'gemini' or 'openai-compatible'); the key is read from the environment."""
    settings = settings or ApiSettings()
    if provider not in PROVIDERS:
        raise ActRepError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    if not model:
        raise ActRepError("no model given (--model)")
    if provider == "openai-compatible" and not base_url:
        raise ActRepError("--base_url is required for openai-compatible (e.g. http://localhost:8000/v1)")
    key = api_key_from_env(provider, settings.api_key_env)
    if provider == "gemini":
        adapter = _GeminiAdapter(model, base_url, key, settings)
    else:
        adapter = _OpenAIAdapter(model, base_url, key, settings, compatible=provider == "openai-compatible")
    return ApiClient(provider, model, adapter, key, settings)
