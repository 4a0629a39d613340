"""`actrep report`: one self-contained HTML page from evaluation runs (a job).

    from actrep.report import build_report
    build_report(["runs/eval"], "runs/eval/report.html")

page.py builds the page (metrics tables, plots, cards) and is the command; selection.py loads the
runs and picks which videos get a card; cards.py draws one card per video; plots.py the PNG plots.
The palette and frame strips are shared with `actrep count` (actrep.figures).

May import: foundations only (never another job). docs/report.md.
"""

from actrep.report.page import build_report, main
from actrep.report.selection import Run, load_runs, select_cards

__all__ = ["Run", "build_report", "load_runs", "main", "select_cards"]
