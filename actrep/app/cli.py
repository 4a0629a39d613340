"""`actrep app [--model CKPT | --provider P --model M] [--port 7860]`: serve the counting page locally.

The counter flags are `actrep count`'s own (the same definitions, minus what the page asks for each
job), so a checkpoint or API model is configured exactly as for the command. Privacy by default:
the server listens on 127.0.0.1, makes no share link unless --share, sends no telemetry, and keeps
uploads and results in one temporary folder that is removed when the app stops (Ctrl+C or SIGTERM).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import sys
import tempfile
import typing
from dataclasses import dataclass
from pathlib import Path

from actrep.config import option, parse_config
from actrep.count import CountArguments
from actrep.errors import ActRepError
from actrep.inference.api import ApiSettings
from actrep.prompts import PromptSettings
from actrep.video import VideoSettings

MISSING_EXTRA = "actrep app needs Gradio, which the core install leaves out: pip install 'actrep[app]'"
# Set before Gradio is imported (it reads some of them at import): no usage reports or version checks.
PRIVATE_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
# `actrep count` options the page asks for each job or that only make sense for files and a terminal.
PAGE_DECIDES = {"videos", "output_dir", "json", "hide_reasoning", "timeline", "annotate", "quiet"}


@dataclass
class AppArguments:
    host: str = option("127.0.0.1", help="Address to serve on. 127.0.0.1: only this computer can open the page; "
                                         "0.0.0.0 lets other computers on the network open it (and read any video "
                                         "path typed on the page).")
    port: int = option(7860, help="Port of the page: http://127.0.0.1:PORT.")
    share: bool = option(False, help="Also open a public gradio.live link through Gradio's servers (off: nothing leaves this computer).")
    open_browser: bool = option(False, help="Open the page in the default web browser.")


def _counter_arguments() -> type:
    """`actrep count`'s counter options as their own dataclass (same fields, defaults and help)."""
    hints = typing.get_type_hints(CountArguments)
    fields = [(f.name, hints[f.name], dataclasses.field(default=f.default, default_factory=f.default_factory,
                                                          metadata=f.metadata))
              for f in dataclasses.fields(CountArguments) if f.name not in PAGE_DECIDES]
    counter = dataclasses.make_dataclass("CounterArguments", fields)
    counter.__module__ = __name__  # the help's group title: "counter arguments"
    return counter


CounterArguments = _counter_arguments()


def import_gradio():
    try:
        import gradio
    except ImportError:
        raise ActRepError(MISSING_EXTRA) from None
    return gradio


def main(argv: list[str]) -> int:
    app, counter, video, prompt, api = parse_config(
        [AppArguments, CounterArguments, VideoSettings, PromptSettings, ApiSettings], argv, prog="actrep app",
        description="Count repetitions in a local web page: one video or a folder, with the counters of actrep count.")
    workdir = Path(tempfile.mkdtemp(prefix="actrep-app-"))
    try:
        os.environ.update(PRIVATE_ENV, GRADIO_TEMP_DIR=str(workdir / "uploads"))
        import_gradio()
        # SIGTERM (a service manager, a test) stops the app as Ctrl+C does: Gradio closes its server, then
        # the finally below removes workdir.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        from actrep.app.jobs import Counters
        from actrep.app.page import build_page

        args = CountArguments(**dataclasses.asdict(counter))
        page = build_page(Counters(args, video, prompt, api), workdir)
        print(f"uploads and results are kept in {workdir} until the app stops", file=sys.stderr, flush=True)
        try:
            _, local_url, share_url = page.queue(default_concurrency_limit=1).launch(
                server_name=app.host, server_port=app.port, share=app.share, inbrowser=app.open_browser, quiet=True,
                prevent_thread_lock=True, footer_links=[], mcp_server=False, ssr_mode=False)
        except OSError:
            raise ActRepError(f"cannot serve on {app.host}:{app.port} (in use, or not an address of this computer); "
                              "pick another with --port") from None
        print(f"actrep app: open {local_url}" + (f" (public link: {share_url})" if share_url else "")
              + "  (Ctrl+C stops it)", file=sys.stderr, flush=True)
        page.block_thread()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
