"""`actrep count`: count repetitions in your own videos, and show where they are (a job).

    from actrep.count import count_file, count_one, make_backend, render, format_text
    result, windows, stitched = count_one("clip.mp4", backend, "push up")   # VideoResult: count, reps, ...
    result = count_file("clip.mp4", backend, args, names)   # counted and rendered, as `actrep count` and `actrep app` do

Every backend (backends.py: a local checkpoint, an API model, or the training-free periodicity
counter) answers the same thing per clip: the count, the repetition intervals in seconds on the
clip's clock and the reasoning text. The model backends use exactly what evaluation uses
(actrep.inference, actrep.prompts, actrep.settings, actrep.video, actrep.answer). Videos longer
than the frame budget are counted in overlapping windows and stitched by intervals (windows.py);
counting.py counts one video and describes the result; timeline.py draws its timeline PNG and
annotated mp4; cli.py is the command.

May import: foundations only (never another job). docs/count.md.
"""

from actrep.count.backends import ClipAnswer, backend_label, make_backend
from actrep.count.cli import main
from actrep.count.counting import (CountArguments, OutputNames, VideoResult, count_file, count_one, expand_inputs,
                                   format_reps, format_text, render, rep_items)
from actrep.count.windows import DEFAULT_OVERLAP, Rep, plan_windows

__all__ = [
    "DEFAULT_OVERLAP", "ClipAnswer", "CountArguments", "OutputNames", "Rep", "VideoResult", "backend_label", "count_file", "count_one",
    "expand_inputs", "format_reps", "format_text", "main", "make_backend", "plan_windows", "render", "rep_items",
]
