"""`actrep app`: a local web page that counts repetitions, for people who never open a terminal.

cli.py (start-up: flags, temporary folder, privacy settings, serving), page.py (the Gradio page) and
jobs.py (what the buttons run, through `actrep.count.count_file`: the function `actrep count` calls).
Gradio is the optional extra `actrep[app]`; nothing else in actrep imports this package. docs/app.md.
"""
