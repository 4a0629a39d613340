"""`actrep eval-api` against a local fault-injecting server (tests/fake_chat_server.py): retries,
quota stop + resume, failed predictions, key handling, the Gemini adapter, and the message format."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from actrep.cli import main
from actrep.errors import ActRepError
from actrep.evaluate.api import run_name_of
from actrep.inference.api import ApiRequest, ApiSettings, _retry_after, encode_jpeg, make_client, openai_messages, timestamp_label
from fake_chat_server import FakeChatServer
from helpers import write_repcount, write_video

KEY = "sk-test-TOPSECRET-0123456789"
GEMINI_KEY = "AIza-test-TOPSECRET-987"
FAST = ["--fps", "2", "--timeout", "0.5", "--initial_backoff", "0.01", "--max_backoff", "2"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """5 test videos; d.mp4 is longer (40 frames) so videos differ in frames sampled."""
    root = write_repcount(tmp_path_factory.mktemp("api") / "data", {"test": [
        ["squat", "a.mp4", 2, 0, 10, 10, 20], ["jump", "b.mp4", 1, 0, 20], ["push_up", "c.mp4", 1, 2, 20],
        ["squat", "d.mp4", 3, 0, 10, 10, 20, 20, 30], ["jump", "e.mp4", 1, 0, 15]]})
    write_video(root / "video" / "test" / "d.mp4", n_frames=40, seed=4)
    return root


def _frames(data, name):
    from actrep.models.registry import get_family
    from actrep.video import VideoSettings, load_video

    return load_video(data / "video" / "test" / name, get_family("qwen2_5_vl"), VideoSettings(fps=2.0))


def _eval(data, out, server, *extra, provider="openai", model="gpt-test"):
    base = server.url + ("" if provider == "gemini" else "/v1")
    return main(["eval-api", "--data", str(data), "--provider", provider, "--model", model, "--base_url", base, "--out", str(out), *FAST, *extra])


def _records(out, run="openai-gpt-test"):
    path = Path(out) / run / "predictions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _assert_no_key(out, captured, key=KEY):
    for path in Path(out).rglob("*"):
        if path.is_file():
            assert key not in path.read_text(errors="replace"), path
    assert key not in captured.out and key not in captured.err


def test_faults_are_retried_and_every_video_gets_one_line(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    plan = ["429", "500", "timeout", "malformed", "no-choices", "500"]
    with FakeChatServer(plan) as server:
        assert _eval(data, tmp_path, server, "--concurrency", "3") == 0
    records = _records(tmp_path)
    assert sorted(r["key"] for r in records) == [f"test/{n}.mp4" for n in "abcde"]
    assert [r["key"] for r in records] == [f"test/{n}.mp4" for n in "abcde"]  # finalised in dataset order
    assert sum(r["extra"]["retries"] for r in records) == len(plan)
    assert len(server.requests) == 5 + len(plan)
    for r in records:
        video = _frames(data, r["video_id"])
        assert r["error"] is None and r["pred"] == len(video.frames)  # the server counts the images it got
        assert r["intervals"][0][0] == 0.0 and r["listed_count"] == len(video.frames)
        assert r["prompt_tokens"] == 100 + 10 * len(video.frames) and r["completion_tokens"] > 0
    for request in server.requests:
        assert request["headers"]["authorization"] == f"Bearer {KEY}"
        assert request["body"]["max_completion_tokens"] == 4096 and request["body"]["temperature"] == 0.0
    d_request = next(q for q in server.requests if "'squat'" in json.dumps(q["body"]) and q["images"] > 6)
    d_video = _frames(data, "d.mp4")
    assert d_request["images"] == len(d_video.frames)
    assert d_request["labels"] == [float(f"{t:.1f}") for t in d_video.timestamps]
    metrics = json.loads((tmp_path / "openai-gpt-test" / "metrics.json").read_text())
    assert metrics["provider"] == "openai" and metrics["model"] == "gpt-test" and metrics["strict"]["n"] == 5
    assert metrics["usage"]["retries"] == len(plan)
    assert metrics["usage"]["prompt_tokens"] == sum(r["prompt_tokens"] for r in records)
    _assert_no_key(tmp_path, capsys.readouterr())


def test_retry_after_is_honoured_and_concurrency_is_bounded(data, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeChatServer(["429-retry-after"]) as server:
        assert _eval(data, tmp_path / "a", server, "--concurrency", "1", "--limit", "1") == 0
    first, second = server.requests
    assert second["time"] - first["time"] >= 0.9  # Retry-After: 1 beats our 0.01 s backoff
    with FakeChatServer() as server:
        assert _eval(data, tmp_path / "b", server, "--concurrency", "2") == 0
    assert server.max_in_flight <= 2


def test_quota_stops_keeps_done_and_rerun_completes(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeChatServer(["ok", "ok", "quota"]) as server:
        assert _eval(data, tmp_path, server, "--concurrency", "1") == 1
        err = capsys.readouterr().err
        assert "quota" in err and "rerun" in err and "2 of 5" in err
        assert len(server.requests) == 3  # nothing submitted after the quota error
        assert len(_records(tmp_path)) == 2 and not (tmp_path / "openai-gpt-test" / "metrics.json").exists()

        assert _eval(data, tmp_path, server, "--concurrency", "1") == 0
        assert len(server.requests) == 3 + 3  # only the 3 missing videos were sent
        keys = [r["key"] for r in _records(tmp_path)]
        assert keys == [f"test/{n}.mp4" for n in "abcde"]
        metrics = (tmp_path / "openai-gpt-test" / "metrics.json").read_text()

        assert _eval(data, tmp_path, server) == 0  # resume of a finished run: no request, same metrics
        assert len(server.requests) == 6
        assert (tmp_path / "openai-gpt-test" / "metrics.json").read_text() == metrics
        assert _eval(data, tmp_path, server, "--fps", "3") == 1  # changed settings never mix into a run
        assert "different settings (video_settings)" in capsys.readouterr().err
    _assert_no_key(tmp_path, capsys.readouterr())


def test_quota_with_requests_in_flight_keeps_every_answer(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeChatServer(["quota"]) as server:
        assert _eval(data, tmp_path, server, "--concurrency", "3") == 1
    assert len(_records(tmp_path)) == len(server.requests) - 1  # every answered request was kept
    assert not (tmp_path / "openai-gpt-test" / "metrics.json").exists()
    _assert_no_key(tmp_path, capsys.readouterr())


def test_refused_request_and_unreadable_video_become_failed_predictions(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    broken = write_repcount(tmp_path / "data", {"test": [["squat", f"{n}.mp4", 1, 0, 10] for n in "abcde"]}, make_videos=False)
    for name in "abde":  # c.mp4 is missing
        write_video(broken / "video" / "test" / f"{name}.mp4", seed=ord(name))
    with FakeChatServer(["400"]) as server:  # the 400 body echoes the credentials
        assert _eval(broken, tmp_path, server, "--concurrency", "1") == 0
    records = {r["video_id"]: r for r in _records(tmp_path)}
    assert records["a.mp4"]["pred"] is None and "HTTP 400" in records["a.mp4"]["error"] and "***" in records["a.mp4"]["error"]
    assert records["c.mp4"]["pred"] is None and "not found" in records["c.mp4"]["error"]
    assert all(records[v]["error"] is None for v in ("b.mp4", "d.mp4", "e.mp4"))
    metrics = json.loads((tmp_path / "openai-gpt-test" / "metrics.json").read_text())
    assert metrics["failed_videos"] == 2 and metrics["strict"]["n"] == 5
    _assert_no_key(tmp_path, capsys.readouterr())


def test_exhausted_retries_stop_the_run_unless_recorded(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeChatServer(["500", "500"]) as server:
        assert _eval(data, tmp_path, server, "--concurrency", "1", "--max_retries", "1") == 1
    assert "gave up after 1 retries" in capsys.readouterr().err
    assert not _records(tmp_path)  # nothing recorded as a miss
    with FakeChatServer(["500", "500"]) as server:
        assert _eval(data, tmp_path / "r", server, "--concurrency", "1", "--max_retries", "1", "--record_exhausted") == 0
    records = _records(tmp_path / "r")
    assert records[0]["error"].startswith("gave up after 1 retries") and records[0]["extra"] == {"retries": 1}
    assert all(r["error"] is None for r in records[1:])


def test_rejected_key_stops_the_run(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeChatServer(["401"]) as server:
        assert _eval(data, tmp_path, server, "--concurrency", "1") == 1
    assert "HTTP 401" in capsys.readouterr().err and len(server.requests) == 1 and not _records(tmp_path)


def test_missing_key_and_missing_base_url_are_one_line_errors(data, tmp_path, capsys):
    with FakeChatServer() as server:
        assert _eval(data, tmp_path, server) == 1
        assert "OPENAI_API_KEY" in capsys.readouterr().err
        assert _eval(data, tmp_path, server, provider="gemini", model="gemini-test") == 1
        assert "GEMINI_API_KEY or GOOGLE_API_KEY" in capsys.readouterr().err
        assert not server.requests
    assert main(["eval-api", "--data", str(data), "--provider", "openai-compatible", "--model", "m", "--out", str(tmp_path)]) == 1
    assert "--base_url is required" in capsys.readouterr().err


def test_compatible_server_without_key_and_reusable_client(data, monkeypatch):
    """`make_client(...).count(video, action, variant)` is what `actrep count` reuses."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # must NOT be sent to a third-party compatible server
    video = _frames(data, "a.mp4")
    with FakeChatServer(["500"]) as server:
        client = make_client("openai-compatible", "Qwen/Qwen2.5-VL-7B-Instruct", server.url + "/v1",
                             ApiSettings(initial_backoff=0.01, max_tokens=64))
        answer = client.count(video, "squat", "thinking")
    assert answer.retries == 1 and "<answer>" in answer.text and answer.prompt_tokens == 100 + 10 * len(video.frames)
    request = server.requests[-1]
    assert request["headers"]["authorization"] == "Bearer EMPTY" and request["body"]["max_tokens"] == 64
    system, user = request["body"]["messages"]
    assert "<thinking>" in system["content"] and "'squat'" in user["content"][-1]["text"]


def test_gemini_adapter_retries_and_stops_on_daily_quota(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    args = ("--concurrency", "1")
    with FakeChatServer(["rate-gemini", "500", "malformed", "timeout", "ok", "ok", "quota"]) as server:
        assert _eval(data, tmp_path, server, *args, provider="gemini", model="gemini-test") == 1
        assert "quota" in capsys.readouterr().err
        records = _records(tmp_path, "gemini-gemini-test")
        assert [r["extra"]["retries"] for r in records] == [4, 0]  # a: 4 faults, b: ok, c: daily quota
        assert all(r["pred"] == len(_frames(data, r["video_id"]).frames) for r in records)
        assert _eval(data, tmp_path, server, *args, provider="gemini", model="gemini-test") == 0
    assert len(_records(tmp_path, "gemini-gemini-test")) == 5
    request = server.requests[-1]
    assert ":generateContent" in request["path"] and request["headers"]["x-goog-api-key"] == GEMINI_KEY
    assert request["body"]["systemInstruction"]["parts"][0]["text"].startswith("You are an expert")
    assert request["body"]["generationConfig"] == {"temperature": 0.0, "maxOutputTokens": 4096}
    _assert_no_key(tmp_path, capsys.readouterr(), GEMINI_KEY)


def test_message_format_and_helpers():
    assert run_name_of("gemini", "models/gemini-2.5-flash") == "gemini-models-gemini-2.5-flash"
    assert timestamp_label(1.25) == "<1.2 seconds>" and timestamp_label(0) == "<0.0 seconds>"
    jpeg = encode_jpeg(np.zeros((300, 1000, 3), np.uint8), 512, 80)
    assert Image.open(io.BytesIO(jpeg)).size == (512, 154)
    assert Image.open(io.BytesIO(encode_jpeg(np.zeros((30, 40, 3), np.uint8), 512, 80))).size == (40, 30)  # no upscale
    messages = openai_messages(ApiRequest("sys", [(0.0, b"a"), (0.5, b"b")], "how many?"), "low")
    parts = messages[1]["content"]
    assert messages[0] == {"role": "system", "content": "sys"}
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
    assert parts[2]["text"] == "<0.5 seconds>" and parts[1]["image_url"]["detail"] == "low"
    assert _retry_after({"retry-after-ms": "250"}) == 0.25 and _retry_after({"retry-after": "3"}) == 3.0
    assert _retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0 and _retry_after({}) is None
    with pytest.raises(ActRepError, match="image_detail"):
        ApiSettings(image_detail="huge")
