"""The counters behind `actrep count`: one interface, three backends.

Every backend has `backend` (its kind), `model_name`, `video_settings` (the frame budget that decides
the windows of long videos), `describe()` (what the JSON records about it) and
`count_clip(path, info, clip, action) -> ClipAnswer` for a whole video (`clip` None) or a window
(`clip` = (start, end) seconds in the file), with the answer's times on the CLIP's clock.

* `LocalBackend`: a checkpoint through `actrep.inference.local.LocalModelCounter` (what `actrep
  eval` evaluates: its saved settings, `generate`), frames from `actrep.video.load_video`.
* `ApiBackend`: `actrep.inference.api.make_client` (the eval-api client and message).
* `PeriodicityBackend`: the training-free `actrep.periodicity.count_video`.

Model answers are read by `actrep.answer.parse_completion`, the project's only parser.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from actrep.count.windows import Rep
from actrep.descriptions import is_alternating
from actrep.errors import ActRepError
from actrep.inference.api import PROVIDERS, ApiSettings, make_client
from actrep.inference.local import GenerationOptions, LocalModelCounter
from actrep.manifest import Sample
from actrep.models.registry import get_family
from actrep.prompts import PromptSettings
from actrep.video import VideoSettings


@dataclass
class ClipAnswer:
    """What a backend returns for one clip (a whole video or one window), times on the clip's clock."""

    count: int | None
    reps: list[Rep]
    text: str  # the raw output (periodicity counter: a one-line summary)
    reasoning: str | None  # the reasoning block, when the output has one
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)  # tokens, retries, confidence


class ModelBackend(abc.ABC):
    """Local checkpoint or API model: sample frames like evaluation, ask, parse with the one parser."""

    backend = "model"
    family = None
    video_settings: VideoSettings
    prompt_variant: str

    def describe(self) -> dict:
        return {"backend": self.backend, "model": self.model_name}

    def count_clip(self, path: str, info, clip: tuple[float, float] | None, action: str) -> ClipAnswer:
        from actrep.answer import parse_completion
        from actrep.video import load_video

        video = load_video(path, self.family, self.video_settings, *(clip or (None, None)), info=info)
        text, extra = self.ask(video, action)
        parsed = parse_completion(text, self.prompt_variant)
        reps = [Rep(item.start, item.end, item.n) for item in parsed.items]
        return ClipAnswer(parsed.count, reps, text, parsed.reasoning, extra=extra)

    @abc.abstractmethod
    def ask(self, video, action: str) -> tuple[str, dict]:
        """The model's raw answer for the sampled frames, and extras (tokens, retries) for the JSON."""


class LocalBackend(ModelBackend):
    backend = "local"

    def __init__(self, args, video: VideoSettings, prompt: PromptSettings):
        import torch

        options = GenerationOptions(batch_size=1, max_new_tokens=args.max_new_tokens, family=args.family, dtype=args.dtype,
                                    attn_implementation=args.attn_implementation, trust_remote_code=args.trust_remote_code,
                                    ignore_saved_settings=args.ignore_saved_settings)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.counter = LocalModelCounter(args.model_name_or_path, options, video, prompt, device)
        self.model_name = args.model_name_or_path
        self.family = self.counter.family
        self.video_settings = self.counter.video_settings
        self.prompt_variant = self.counter.prompt_variant

    def describe(self) -> dict:
        return {**super().describe(), "family": self.family.name, "settings_source": self.counter.settings_source}

    def ask(self, video, action: str) -> tuple[str, dict]:
        ((text, prompt_tokens, completion_tokens),) = self.counter.generate([Sample("video", action, 0)], [video])
        return text, {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}


class ApiBackend(ModelBackend):
    backend = "api"

    def __init__(self, args, video: VideoSettings, prompt: PromptSettings, api: ApiSettings):
        self.family = get_family(args.sampling_family)
        self.client = make_client(args.provider, args.model_name_or_path, args.base_url, api)
        self.model_name, self.provider = args.model_name_or_path, args.provider
        self.video_settings, self.prompt_variant = video, prompt.prompt_variant

    def describe(self) -> dict:
        return {**super().describe(), "provider": self.provider}

    def ask(self, video, action: str) -> tuple[str, dict]:
        answer = self.client.count(video, action, self.prompt_variant)
        return answer.text, {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
                             "retries": answer.retries}


class PeriodicityBackend:
    """The training-free counter (actrep.periodicity): no model, no action name needed. An action whose
    repetition is a one-way move mirrored by the next (`Description.alternating`) is passed on."""

    backend = "periodicity"
    model_name = "periodicity"

    def __init__(self, video: VideoSettings):
        from actrep.periodicity import PeriodicityConfig, count_video  # lazy: OpenCV loads only when this counter runs

        self.count_video, self.config = count_video, PeriodicityConfig()
        self.video_settings = video  # only sets the window length for long videos

    def describe(self) -> dict:
        return {"backend": self.backend, "model": self.model_name}

    def count_clip(self, path: str, info, clip: tuple[float, float] | None, action: str) -> ClipAnswer:
        start, end = clip or (None, None)
        result = self.count_video(path, self.config, clip_start=start, clip_end=end, info=info,
                                 alternating=is_alternating(action, path))
        reps = [Rep(float(s), float(e)) for s, e in result.intervals]
        shown = f"~{result.count}?" if result.uncertain else str(result.count)
        text = (f"periodicity counter: {shown} repetitions, confidence {result.confidence:.2f}"
                + (f" (uncertain: below {self.config.confident_level:.2f})" if result.uncertain else ""))
        return ClipAnswer(int(result.count), reps, text, None,
                          extra={"confidence": round(float(result.confidence), 4), "uncertain": bool(result.uncertain)})


def make_backend(args, video: VideoSettings, prompt: PromptSettings, api: ApiSettings):
    if args.provider:
        if args.provider not in PROVIDERS:
            raise ActRepError(f"unknown provider {args.provider!r}; choose one of {', '.join(PROVIDERS)}")
        if not args.model_name_or_path:
            raise ActRepError("--provider needs --model (the model name at the provider)")
        if not args.action:
            raise ActRepError('give the action to count with --action (e.g. --action "push up")')
        return ApiBackend(args, video, prompt, api)
    if args.model_name_or_path:
        if not args.action:
            raise ActRepError('give the action to count with --action (e.g. --action "push up")')
        return LocalBackend(args, video, prompt)
    return PeriodicityBackend(video)


def backend_label(backend) -> str:
    """'local model runs/grpo', 'openai gpt-4.1-mini', 'periodicity counter (no model)'."""
    if backend.backend == "local":
        return f"local model {backend.model_name}"
    if backend.backend == "api":
        return f"{backend.provider} {backend.model_name}"
    if backend.backend == "periodicity":
        return "periodicity counter (no model)"
    return f"{backend.backend} {backend.model_name}"
