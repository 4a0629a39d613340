"""The Gradio page of `actrep app`: a settings row and two screens, one video and several videos.

The handlers only move values between the page and actrep/app/jobs.py. Both counting buttons share
one queue slot (`concurrency_id`): a checkpoint is one model in memory, and counting fills the CPU
or GPU anyway. Cancel stops the job at its next window or video (jobs.Watched) and frees the page.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import gradio as gr

from actrep.app import jobs
from actrep.errors import ActRepError

INTRO = ("Count the repetitions of an action in a video: a physio's home exercises, a coach's sets, a machine's "
         "cycles. Everything runs on this computer; uploaded videos stay in a temporary folder that is removed "
         "when the app stops.")


class CancelFlags:
    """One flag per job, found by the browser session that started it (the Cancel button's session)."""

    def __init__(self):
        self.current: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def start(self, session: str) -> threading.Event:
        """A fresh flag: a cancelled job that is still finishing its window keeps its own (set) flag."""
        with self.lock:
            self.current[session] = threading.Event()
            return self.current[session]

    def stop(self, session: str) -> None:
        with self.lock:
            flag = self.current.get(session)
        if flag is not None:
            flag.set()


def build_page(counters: jobs.Counters, workdir: Path) -> gr.Blocks:
    flags = CancelFlags()

    def job_folder() -> Path:
        return Path(tempfile.mkdtemp(prefix="job-", dir=workdir))

    def user_error(err: Exception) -> gr.Error:
        return gr.Error(str(err), print_exception=False)

    def count_video(upload, typed, choice, action, partial, request: gr.Request, progress=gr.Progress()):
        inputs = jobs.uploaded_inputs([upload]) if upload else jobs.typed_inputs(typed or "")
        if len(inputs) != 1:
            raise gr.Error("Upload one video, or type the path of one video file"
                           + (" (for a folder, use Several videos)" if inputs else ""), print_exception=False)
        folder = job_folder()
        try:
            args = counters.job_args(choice, action, partial, folder, annotate=True)
        except ActRepError as err:
            raise user_error(err) from None

        def report(index: int, total: int) -> None:
            progress((index, total), desc=f"counting window {index + 1} of {total}" if total > 1 else "counting",
                     unit="windows")

        cancel = flags.start(request.session_hash)
        try:
            (result,) = jobs.count_inputs(counters, choice, inputs, args, cancel, report)
        except jobs.Cancelled:
            return ("Cancelled.",) + (None,) * 5
        except ActRepError as err:  # a fatal API error (wrong key): every video would fail the same way
            raise user_error(err) from None
        saved = jobs.write_json([result], counters.get(choice), folder / f"{Path(result.video).stem}.json")
        return (jobs.headline(result), _path(folder, result.timeline), _path(folder, result.annotated),
                jobs.interval_rows(result), str(saved), jobs.details(result))

    def count_videos(uploads, typed, choice, action, partial, request: gr.Request, progress=gr.Progress()):
        inputs = jobs.uploaded_inputs(uploads or []) + jobs.typed_inputs(typed or "")
        if not inputs:
            raise gr.Error("Upload videos, or type a folder, files or a pattern (one per line)", print_exception=False)
        folder = job_folder()
        try:
            args = counters.job_args(choice, action, partial, folder, annotate=False)
        except ActRepError as err:
            raise user_error(err) from None
        cancel, results = flags.start(request.session_hash), []
        progress((0, len(inputs)), desc="counting", unit="videos")
        try:
            for result in jobs.count_inputs(counters, choice, inputs, args, cancel):
                results.append(result)
                progress((len(results), len(inputs)), desc=f"counted {result.video}", unit="videos")
                failed = sum(1 for r in results if r.error)
                done = len(results) == len(inputs)
                summary = (f"{'Done' if done else 'Counting'}: {len(results)} of {len(inputs)} videos counted"
                           + (f", {failed} failed" if failed else ""))
                yield (summary, [jobs.table_row(r) for r in results],
                       str(jobs.write_csv(results, folder / "counts.csv")),
                       str(jobs.write_json(results, counters.get(choice), folder / "counts.json")))
        except ActRepError as err:
            raise user_error(err) from None
        except jobs.Cancelled:
            return

    with gr.Blocks(title="ActRep: count repetitions", analytics_enabled=False) as page:
        gr.Markdown(f"# Count repetitions\n{INTRO}")
        with gr.Row():
            counter = gr.Radio(counters.choices, value=jobs.TRAINING_FREE, label="Counter", elem_id="counter")
            action = gr.Textbox(value=counters.args.action, label="Action (optional for the training-free counter)",
                                placeholder="e.g. squat, arm curl, push up", elem_id="action")
            partial = gr.Checkbox(value=counters.args.allow_partial, elem_id="partial",
                                  label="Count the readable part of cut or damaged videos (marked partial)")
        with gr.Tabs():
            with gr.Tab("One video", elem_id="tab_one"):
                with gr.Row():
                    with gr.Column(scale=2):
                        video = gr.Video(sources=["upload"], label="Video", height=260, elem_id="video_in")
                        typed_one = gr.Textbox(label="or the path of a video on this computer", elem_id="path_in")
                        with gr.Row():
                            count_one = gr.Button("Count", variant="primary", elem_id="count_one")
                            cancel_one = gr.Button("Cancel", variant="stop", elem_id="cancel_one")
                    with gr.Column(scale=3):
                        headline = gr.Markdown(elem_id="headline")
                        json_one = gr.File(label="JSON (the record of actrep count --json)", elem_id="json_one")
                        with gr.Accordion("Details: windows, confidence, the counter's output", open=False):
                            details = gr.Textbox(show_label=False, lines=8, elem_id="details")
                gr.Markdown("**Timeline**: a frame strip and every repetition on the same time axis")
                timeline = gr.Image(show_label=False, type="filepath", interactive=False, buttons=["download", "fullscreen"],
                                    elem_id="timeline")
                with gr.Row():
                    annotated = gr.Video(label="Annotated video: running counter and timeline bar", height=320,
                                         interactive=False, buttons=["download"], elem_id="annotated")
                    intervals = gr.Dataframe(headers=jobs.INTERVAL_COLUMNS, label="Repetitions", interactive=False,
                                             max_height=320, elem_id="intervals")
            with gr.Tab("Several videos", elem_id="tab_many"):
                with gr.Row():
                    uploads = gr.File(file_count="multiple", label="Videos", elem_id="videos_in")
                    typed_many = gr.Textbox(label="or folders, files or patterns on this computer, one per line",
                                            lines=3, placeholder="/home/me/sessions/  or  clips/*.mp4",
                                            elem_id="paths_in")
                with gr.Row():
                    count_many = gr.Button("Count all", variant="primary", elem_id="count_many")
                    cancel_many = gr.Button("Cancel", variant="stop", elem_id="cancel_many")
                summary = gr.Markdown(elem_id="summary")
                table = gr.Dataframe(headers=jobs.TABLE_COLUMNS, label="Counts", interactive=False, wrap=True,
                                     column_widths=["18%", "7%", "10%", "7%", "9%", "8%", "8%", "33%"], elem_id="table")
                with gr.Row():
                    csv_file = gr.File(label="CSV", elem_id="csv_out")
                    json_many = gr.File(label="JSON", elem_id="json_many")
        settings = [counter, action, partial]
        one = count_one.click(count_video, [video, typed_one, *settings],
                              [headline, timeline, annotated, intervals, json_one, details],
                              concurrency_limit=1, concurrency_id="count")
        many = count_many.click(count_videos, [uploads, typed_many, *settings], [summary, table, csv_file, json_many],
                                concurrency_limit=1, concurrency_id="count")

        def stop(request: gr.Request) -> None:
            flags.stop(request.session_hash)

        for button in (cancel_one, cancel_many):
            button.click(stop, None, None, cancels=[one, many], queue=False)
    return page


def _path(folder: Path, name: str | None) -> str | None:
    return None if name is None else str(folder / name)
