"""What the page's buttons run, without Gradio: count one video or many, cancel, tables and exports.

Every video is counted by `actrep.count.count_file`, the function `actrep count` calls for each of its
inputs, so the page and the command give the same counts, marks, intervals and errors. This module
only chooses the counter, words the result for the page and writes the downloads.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import threading
from pathlib import Path
from typing import Iterator

from actrep.count import (CountArguments, OutputNames, VideoResult, backend_label, count_file, expand_inputs,
                          format_text, make_backend, plan_windows)
from actrep.errors import ActRepError

TRAINING_FREE = "training-free counter (no model)"


class Cancelled(Exception):
    """The user pressed Cancel: raised between windows and between videos, never inside one."""


class Counters:
    """The counters the page offers: the training-free one always, plus the configured model (if any).

    Backends are built once, at start: a checkpoint loads once and a bad one fails before the page opens.
    """

    def __init__(self, args: CountArguments, video, prompt, api):
        self.args, self.video = args, video
        self.backends = {TRAINING_FREE: make_backend(dataclasses.replace(args, model_name_or_path=None, provider=None),
                                                     video, prompt, api)}
        if args.model_name_or_path or args.provider:
            # The action is asked on the page for each count; make_backend only checks that one is given.
            backend = make_backend(dataclasses.replace(args, action=args.action or "-"), video, prompt, api)
            self.backends[backend_label(backend)] = backend

    @property
    def choices(self) -> list[str]:
        return list(self.backends)

    def get(self, choice: str):
        if choice not in self.backends:
            raise ActRepError(f"unknown counter {choice!r}; choose one of {', '.join(self.backends)}")
        return self.backends[choice]

    def job_args(self, choice: str, action: str, allow_partial: bool, output_dir: Path, annotate: bool) -> CountArguments:
        """`actrep count`'s arguments for one job: the start-up flags plus what the page asks."""
        action = action.strip()
        if self.get(choice).backend != "periodicity" and not action:
            raise ActRepError("name the action to count (e.g. push up): the model is asked to count it")
        return dataclasses.replace(self.args, action=action, allow_partial=allow_partial, output_dir=str(output_dir),
                                   timeline=annotate, annotate=annotate, hide_reasoning=False)


class Watched:
    """A backend that reports each window it counts and stops at the next window once cancelled."""

    def __init__(self, inner, overlap: float, cancel: threading.Event, report=None):
        self.inner, self.overlap, self.cancel, self.report = inner, overlap, cancel, report

    def __getattr__(self, name):  # backend, model_name, video_settings, describe(): the wrapped backend's
        return getattr(self.inner, name)

    def count_clip(self, path, info, clip, action):
        if self.cancel.is_set():
            raise Cancelled()
        if self.report is not None:
            windows = plan_windows(info.num_frames, info.fps, self.inner.video_settings, self.overlap)
            start = 0.0 if clip is None else clip[0]
            index = next((w.index for w in windows if abs(w.start - start) < 1e-6), 0)
            self.report(index, len(windows))
        return self.inner.count_clip(path, info, clip, action)


def count_inputs(counters: Counters, choice: str, inputs: list[tuple[str, str, str | None]], args: CountArguments,
                 cancel: threading.Event, report=None) -> Iterator[VideoResult]:
    """Count (path, label, error) inputs one after the other; each result is yielded when it is ready.

    A file that cannot be counted is a result with `error` set and the next file is counted anyway;
    `label` (an upload's file name, or the path as typed) replaces the path in the result.
    """
    names = OutputNames(args.output_dir)
    backend = Watched(counters.get(choice), args.overlap, cancel, report)
    for path, label, error in inputs:
        if cancel.is_set():
            raise Cancelled()
        try:
            result = count_file(path, backend, args, names, error)
        except (Cancelled, ActRepError):  # count_file raises only a fatal API error, which fails every video
            raise
        except Exception as err:  # noqa: BLE001 - the server outlives any one file; the row says what broke
            result = VideoResult(video=path, action=args.action, error=f"{path}: unexpected error: {err!r}")
        if result.error:
            result.error = result.error.replace(path, label)
        result.video = label
        for key in ("timeline", "annotated"):
            if getattr(result, key):
                setattr(result, key, Path(getattr(result, key)).name)
        yield result


def uploaded_inputs(paths: list[str]) -> list[tuple[str, str, None]]:
    """Uploaded files, labelled with their own names (Gradio keeps them under a folder per upload)."""
    return [(path, Path(path).name, None) for path in paths]


def typed_inputs(text: str) -> list[tuple[str, str, str | None]]:
    """Files, folders or glob patterns typed on the page (one per line), expanded as `actrep count` does."""
    items = [line.strip() for line in text.splitlines() if line.strip()]
    return [(path, path, error) for path, error in expand_inputs(items)] if items else []


# --------------------------------------------------------------------------------------------- words


def shown(result: VideoResult) -> str:
    """The count as the page shows it: '7', '~7?' (uncertain), 'no count' or 'failed'."""
    if result.error:
        return "failed"
    return "no count" if result.count is None else result.shown_count()


def status(result: VideoResult) -> str:
    """ok / uncertain / no count / failed, with ', partial' for the readable part of a cut video."""
    return result.status + (", partial" if result.partial else "")


def lowest_confidence(result: VideoResult) -> float | None:
    return min((w["confidence"] for w in result.windows if "confidence" in w), default=None)


def headline(result: VideoResult) -> str:
    """The first lines of the one-video screen (Markdown): the count, its marks, where it came from."""
    if result.error:
        return f"### Could not count {result.video}\n\n{result.error}"
    noun = "" if result.count is None else f" repetition{'s' * (result.count != 1)}"
    lines = [f"## {shown(result)}{noun}" + (f" of {result.action}" if result.action else "")]
    marks = []
    if result.uncertain:
        marks.append("**UNCERTAIN**: the counter is not sure of this count; check it on the timeline")
    if result.partial:
        marks.append(f"**PARTIAL**: {result.partial['note']}; the count covers that part only")
    confidence = lowest_confidence(result)
    facts = [f"{result.duration_s:.1f} s video", f"counted in {result.time_s:.1f} s"]
    if confidence is not None:
        facts.insert(0, f"confidence {confidence:.2f}")
    if len(result.windows) > 1:
        facts.append(f"{len(result.windows)} windows stitched by {result.stitch}")
    return "\n\n".join(lines + marks + [" · ".join(facts)] + [f"note: {w}" for w in result.warnings])


def details(result: VideoResult) -> str:
    """`actrep count`'s text for the video: windows, confidence, partial note, the counter's output."""
    return format_text(result, show_reasoning=True)


INTERVAL_COLUMNS = ["repetition", "start (s)", "end (s)", "length (s)"]


def interval_rows(result: VideoResult) -> list[list]:
    """One row per listed item; a group the model listed as one item is numbered 'a-b'."""
    rows, number = [], 1
    for rep in result.reps:
        name = str(number) if rep.n == 1 else f"{number}-{number + rep.n - 1}"
        rows.append([name, round(rep.start, 2), round(rep.end, 2), round(rep.end - rep.start, 2)])
        number += rep.n
    return rows


TABLE_COLUMNS = ["video", "count", "status", "listed", "length (s)", "windows", "time (s)", "note"]


def table_row(result: VideoResult) -> list:
    """The folder screen's row of a result: a failed file says why in `note`."""
    if result.error:
        return [result.video, shown(result), status(result), "", "", "", "", result.error]
    notes = ([result.partial["note"]] if result.partial else []) + result.warnings
    return [result.video, shown(result), status(result), sum(r.n for r in result.reps),
            result.duration_s, len(result.windows), round(result.time_s, 1), "; ".join(notes)]


# --------------------------------------------------------------------------------------------- files


CSV_COLUMNS = ["video", "count", "status", "uncertain", "partial", "listed_count", "duration_s", "fps", "frames",
               "windows", "time_s", "confidence", "error", "warnings"]


def write_csv(results: list[VideoResult], path: Path) -> Path:
    """One row per video; `count` is a plain number (empty when there is none), the marks are columns."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in results:
            confidence = lowest_confidence(r)
            writer.writerow([r.video, "" if r.count is None else r.count, r.status, r.uncertain, bool(r.partial),
                             sum(rep.n for rep in r.reps), r.duration_s, r.fps, r.frames, len(r.windows),
                             round(r.time_s, 3), "" if confidence is None else confidence, r.error or "",
                             "; ".join(r.warnings)])
    return path


def write_json(results: list[VideoResult], backend, path: Path) -> Path:
    """A list of the objects `actrep count --json` prints, one per video."""
    records = [r.to_json(backend.describe(), hide_reasoning=False) for r in results]
    path.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
