"""The commands of foundations: `actrep model` (models/) and `actrep video` (video.py).

A job owns its command (`actrep count` is actrep/count/cli.py, `actrep sft` actrep/train/sft.py's
`main`); a foundation owns none, so its command lives here, on top, next to actrep/cli.py. Each
module parses options, calls the library and prints.

May import: anything below (jobs, foundations); nothing imports it but actrep/cli.py, by name.
"""
