"""The settings that must match between training and evaluation, saved next to every checkpoint.

`actrep_settings.json` holds the model family, the prompt variant and the video settings. SFT and
GRPO write it into every checkpoint; `actrep eval` / `actrep count` read it, so a checkpoint is
evaluated on exactly the frames, pixels and prompt it was trained with.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from actrep.errors import ActRepError
from actrep.video import VideoSettings

SETTINGS_FILE = "actrep_settings.json"


@dataclass
class PipelineSettings:
    family: str
    prompt_variant: str
    video: VideoSettings

    def to_json(self) -> dict:
        return {"family": self.family, "prompt_variant": self.prompt_variant, "video": dataclasses.asdict(self.video)}


def save_settings(directory: str | Path, settings: PipelineSettings) -> Path:
    path = Path(directory) / SETTINGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings.to_json(), indent=2) + "\n")
    return path


def load_settings(directory: str | Path) -> PipelineSettings | None:
    """The saved settings of a checkpoint or run directory, or None if it has none (e.g. a hub model)."""
    path = Path(directory) / SETTINGS_FILE
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        known = {f.name for f in dataclasses.fields(VideoSettings)}
        unknown = set(raw["video"]) - known
        if unknown:
            raise ActRepError(f"{path}: unknown video settings {sorted(unknown)} (written by a newer actrep?)")
        return PipelineSettings(raw["family"], raw["prompt_variant"], VideoSettings(**raw["video"]))
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ActRepError(f"{path}: unreadable settings file ({type(err).__name__}: {err})") from None


def resolve_settings(model_path: str, video: VideoSettings, prompt_variant: str, ignore_saved: bool = False):
    """(video settings, prompt variant, source) for a checkpoint: the ones saved with it win over flags.

    Training continues (SFT -> GRPO) and evaluation runs with exactly the frames, pixels and prompt
    the checkpoint was trained with; flags apply to checkpoints that saved none (hub models) or
    when `ignore_saved` is set.
    """
    saved = None if ignore_saved else load_settings(model_path)
    if saved is not None:
        return saved.video, saved.prompt_variant, "checkpoint"
    return video, prompt_variant, "flags"
