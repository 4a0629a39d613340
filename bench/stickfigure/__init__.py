"""A second, independent test source for the periodicity counter: stick-figure people doing eight
exercises (squat, jumping jack, bicep curl, front raise, push-up, pull-up, sit-up, bench press) in
scenes with their own distractors (a pendulum at another frequency, a spinning fan, people or panels
passing in front), camera pan/zoom/shake and textured walls, plus clips without any repetition.

Written without looking at `actrep.synth` (other body model, motions, scenes and randomness), so a
counter tuned on one can be measured on the other. `python -m bench.stickfigure --help` writes a
RepCount-A folder (test.csv with per-repetition frame boundaries, video/test/*.mp4, meta/test.jsonl)
that `actrep eval --baseline periodicity --data DIR` and `python -m bench.periodicity --source
stickfigure` read.
"""
