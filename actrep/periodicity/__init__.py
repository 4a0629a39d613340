"""Training-free repetition counting: temporal self-similarity on motion and appearance features.

    from actrep.periodicity import count_video, count_repetitions
    result = count_video("clip.mp4")                  # PeriodicityResult(count, intervals, confidence, period_s)
    result = count_video("clip.mp4", count=12)        # constrained: exactly 12 repetitions (pseudo-intervals)
    result = count_video("clip.mp4", alternating=True)  # the action's repetitions mirror each other (box_transfer)

`naive_count` is the reference row (`actrep eval --baseline naive`). See docs/periodicity.md.

A foundation, not a job: it has no command of its own, and three jobs use it (`actrep count` with no
model, `actrep eval --baseline` through actrep/evaluate/baseline.py, `actrep cot --pseudo_intervals`
through actrep/data/intervals.py). May import: video, errors.
"""

from actrep.periodicity.counter import PeriodicityConfig, PeriodicityResult, count_repetitions, count_video
from actrep.periodicity.naive import naive_count

__all__ = ["PeriodicityConfig", "PeriodicityResult", "count_repetitions", "count_video", "naive_count"]
