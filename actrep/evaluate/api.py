"""`actrep eval-api`: evaluate an API model (OpenAI, Gemini, an OpenAI-compatible server) on a dataset.

    actrep eval-api --data DATA --provider {openai,gemini,openai-compatible} --model M [--base_url URL]

Frames are sampled by the same `VideoSettings` machinery as local evaluation (`--sampling_family`
picks the family's sampling rule) and sent as JPEG images with the prompts of `actrep.prompts`
(actrep/inference/api.py builds the message). Videos run concurrently; each finished one is
appended to OUT/<run>/predictions.jsonl at once, so a rerun resumes. A quota error, a
configuration error (bad key, unknown model) or a video whose retries run out stops the run: no new
videos are submitted, the ones in flight finish and are kept, nothing is finalised, and the command
exits non-zero asking for a rerun. A request the service refuses for good (400) or an unreadable
video becomes a failed prediction (a miss in strict metrics). Details: docs/eval_api.md.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from concurrent.futures import CancelledError, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from actrep.config import option, parse_config, save_json, to_dict
from actrep.errors import ActRepError
from actrep.inference.api import PROVIDERS, ApiError, ApiSettings, Cancelled, FatalApiError, RetriesExhausted, make_client
from actrep.prompts import PromptSettings
from actrep.video import VideoSettings

RUN_SETTINGS = "eval_api.json"  # what the run was started with; a resume must match it


@dataclass
class EvalApiArguments:
    data: str = option(None, help="Dataset: a RepCount-A folder, a .csv or a .jsonl manifest.")
    provider: str = option(None, help=f"API provider: {', '.join(PROVIDERS)}.")
    model_name_or_path: str = option(None, help="Model name at the provider (e.g. gpt-4.1-mini, gemini-2.5-flash, the name a vLLM server serves).")
    base_url: str | None = option(None, help="API base URL: required for openai-compatible (e.g. http://localhost:8000/v1), optional otherwise.")
    videos: str | None = option(None, help="Folder the video ids are resolved against (default: the dataset's folder).")
    splits: list[str] = option(["test"], help="Splits to evaluate.")
    limit: int = option(0, help="Evaluate only the first N samples (0: all); a cheap trial run.")
    output_dir: str = option("runs/eval_api", help="Output folder; the run goes to OUTPUT_DIR/<run_name>/.")
    run_name: str = option("", help="Run folder name (default: <provider>-<model>, sanitised).")
    sampling_family: str = option("qwen2_5_vl", help="Whose frame-sampling rule picks the frames (same settings as local eval).")
    concurrency: int = option(4, help="Requests in flight at once.")
    record_exhausted: bool = option(False, help="Record a video whose retries ran out as a failed prediction (a miss) instead of stopping the run.")


def run_name_of(provider: str, model: str) -> str:
    """'gemini', 'models/gemini-2.5-flash' -> 'gemini-models-gemini-2.5-flash' (filesystem-safe)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{provider}-{model}").strip("-.") or "run"


def _check_run_settings(run_dir: Path, settings: dict) -> None:
    """Refuse to resume a run with different result-affecting settings (the results would mix)."""
    import json

    path = run_dir / RUN_SETTINGS
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
        if changed:
            raise ActRepError(f"{run_dir} was started with different settings ({', '.join(changed)}); "
                              "pass --run_name for a new run, or delete the folder to start over")
    else:
        save_json(path, settings)


def _evaluate_one(sample, client, args: EvalApiArguments, video_settings: VideoSettings, variant: str,
                  stop: threading.Event):
    """One sample -> a Prediction, or None when the run stopped before it was sent."""
    from actrep.answer import parse_completion
    from actrep.runs import failed_prediction, prediction_from_parsed
    from actrep.models.registry import get_family
    from actrep.video import load_video

    if stop.is_set():
        return None
    start = time.monotonic()
    try:
        video = load_video(sample.video_path, get_family(args.sampling_family), video_settings, sample.clip_start, sample.clip_end)
    except ActRepError as err:
        failed = failed_prediction(sample, str(err), time.monotonic() - start)
        failed.extra = {"retries": 0}
        return failed
    if stop.is_set():
        return None
    try:
        answer = client.count(video, sample.action, variant, stop=stop)
    except Cancelled:
        return None
    except ApiError as err:
        if isinstance(err, FatalApiError) or (isinstance(err, RetriesExhausted) and not args.record_exhausted):
            raise
        failed = failed_prediction(sample, str(err), time.monotonic() - start)
        failed.extra = {"retries": err.retries}
        return failed
    parsed = parse_completion(answer.text, variant)
    return prediction_from_parsed(sample, parsed, raw=answer.text, time_s=time.monotonic() - start, fps=video.fps,
                                  prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens,
                                  extra={"retries": answer.retries})


def _run_all(todo, client, args, video_settings, variant, log, run_label: str) -> tuple[Exception | None, int]:
    """Evaluate `todo` concurrently, appending each result to `log`; -> (the error that stopped the run, written)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    stop = threading.Event()
    stopped_by, written = None, 0

    def halt() -> None:  # nothing new starts; requests in flight finish (and are kept when they answer)
        stop.set()
        for pending in futures:
            pending.cancel()

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    # The log is written only from this (the main) thread, so appends never interleave.
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool, Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task(run_label, total=len(todo))
        futures = {pool.submit(_evaluate_one, s, client, args, video_settings, variant, stop): s for s in todo}
        try:
            for future in as_completed(futures):
                try:
                    prediction = future.result()
                except CancelledError:
                    continue
                except FatalApiError as err:
                    stopped_by = stopped_by or err
                except RetriesExhausted as err:
                    stopped_by = stopped_by or ActRepError(
                        f"{futures[future].video_id}: {err} (--record_exhausted records such videos as misses)")
                else:
                    if prediction is not None:
                        log.append(prediction)
                        written += 1
                        progress.advance(task)
                if stopped_by is not None and not stop.is_set():
                    halt()
        except BaseException:  # Ctrl-C: let the in-flight requests end quickly, keep what is written
            halt()
            raise
    return stopped_by, written


def _usage(records: list[dict]) -> dict:
    def total(field):
        return sum(r.get(field) or 0 for r in records)

    return {"prompt_tokens": total("prompt_tokens"), "completion_tokens": total("completion_tokens"),
            "retries": sum((r.get("extra") or {}).get("retries", 0) for r in records),
            "answered": sum(1 for r in records if not r.get("error"))}


def main(argv: list[str]) -> int:
    from actrep.manifest import load_samples
    from actrep.runs import PREDICTIONS, PredictionLog, finalize_run, print_comparison, sample_key
    from actrep.models.registry import get_family

    args, api_settings, video_settings, prompt_settings = parse_config(
        [EvalApiArguments, ApiSettings, VideoSettings, PromptSettings], argv, prog="actrep eval-api",
        description="Evaluate an API model (OpenAI, Gemini, OpenAI-compatible server) on a dataset; resumable.")
    if not args.provider or not args.model_name_or_path:
        raise ActRepError("--provider and --model are required")
    if args.concurrency < 1 or args.limit < 0:
        raise ActRepError("need --concurrency >= 1 and --limit >= 0")
    get_family(args.sampling_family)
    client = make_client(args.provider, args.model_name_or_path, args.base_url, api_settings)

    if not args.data:
        raise ActRepError("give the dataset with --data")
    samples = load_samples(args.data, args.videos, args.splits)
    samples = samples[: args.limit] if args.limit else samples
    by_key = {sample_key(s): s for s in samples}
    if len(by_key) != len(samples):
        raise ActRepError(f"{args.data}: duplicate samples (same split, video and clip); run `actrep data validate`")

    run_name = args.run_name or run_name_of(args.provider, args.model_name_or_path)
    run_dir = Path(args.output_dir) / run_name
    info = {"evaluator": "api", "provider": args.provider, "model": args.model_name_or_path, "base_url": client.base_url,
            "data": str(args.data), "videos": args.videos, "splits": args.splits, "sampling_family": args.sampling_family,
            "video_settings": to_dict(video_settings), "prompt_variant": prompt_settings.prompt_variant,
            "image": {"max_side": api_settings.image_max_side, "jpeg_quality": api_settings.jpeg_quality,
                      "detail": api_settings.image_detail},
            "generation": {"temperature": api_settings.temperature, "max_tokens": api_settings.max_tokens}}
    # base_url, data and videos are left out of the resume check: a restarted local server or a
    # relative path spelled differently is the same run (the keys say which videos are done).
    _check_run_settings(run_dir, {k: v for k, v in info.items() if k not in ("base_url", "data", "videos")})
    log = PredictionLog(run_dir / PREDICTIONS)
    todo = [s for k, s in by_key.items() if k not in log.done]
    if len(todo) < len(by_key):
        print(f"resuming {run_dir}: {len(by_key) - len(todo)} of {len(by_key)} videos already done", file=sys.stderr)

    stopped_by, written = _run_all(todo, client, args, video_settings, prompt_settings.prompt_variant, log, run_name)
    if stopped_by is not None:
        done = sum(1 for k in by_key if k in log.done)
        raise ActRepError(f"stopped: {str(stopped_by).rstrip('.')}. {done} of {len(by_key)} videos are done and kept in "
                          f"{log.path}; rerun the same command to resume")

    records = [log.records[k] for k in by_key]
    info.update(run_name=run_name, api_settings=to_dict(api_settings), usage=_usage(records))
    metrics = finalize_run(run_dir, list(by_key), info)
    print_comparison([(run_name, metrics)], title="eval-api")
    print(f"{written} video(s) evaluated now, {len(by_key)} in total; results in {run_dir}")
    return 0
