"""Datasets for training: `actrep data validate|stats` (cli.py, validate.py), `actrep cot` (cot.py, with
intervals.py: where a row's repetition intervals come from) and `actrep rcs` (rcs.py) (a job).

The Sample record and the dataset loaders every job reads are a foundation (actrep.manifest), as are
the CoT text (actrep.reasoning) and the action descriptions (actrep.descriptions).

May import: foundations only (never another job). Training imports this package (CoT and RCS on the fly).
"""
