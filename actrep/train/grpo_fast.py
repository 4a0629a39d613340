"""Which fast path `actrep grpo` runs: decided once per run, before the model loads (docs/performance.md).

Every piece is "auto" by default: on wherever it computes what the stock path computes, off where it
cannot run, and the run's header says which and why in one line. "true" insists: a run where the piece
cannot apply is refused with a one-line error instead of falling back. "false" runs the stock piece;
`--fast_path false` does that for every piece left at auto (the stock path, for comparisons).

    vision attention  one batched sdpa call per vision layer (actrep.fast.vision_attention)
    decode            prompt prefilled once per video, G rollouts decoded against its KV with static
                      buffers (+ CUDA graphs on a GPU) (actrep.fast.decode)
    shared prefix     log-prob passes compute each video's prompt once for its completions, LM head on
                      completion positions only, in chunks (actrep.fast.prefix, actrep.fast.logps)

The constraints are the code's, not guesses: the decoder writes out dense SiLU layers over plain
nn.Linear weights (MoE layers and LoRA-wrapped linears raise), and under ZeRO-3 the weights exist only
inside the per-step gather; the shared-prefix forward calls the decoder layers and the LM-head weight
directly, outside DDP's/DeepSpeed's wrapped forward, and needs an attention mask flash-attention
does not take; the batched vision call is sdpa, so it replaces only the sdpa loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actrep.errors import ActRepError

PIECES = {"fast_vision_attention": "vision attention", "fast_decode": "decode", "shared_prefix": "shared-prefix log-probs"}
_WORDS = {"auto": None, "true": True, "false": False, "on": True, "off": False, "yes": True, "no": False, "1": True, "0": False}


def requested(value, name: str) -> bool | None:
    """A piece's setting from the command line ("auto"/"true"/"false") or YAML (booleans too): True, False or None (auto)."""
    if isinstance(value, bool) or value is None:
        return value
    word = str(value).strip().lower()
    if word not in _WORDS:
        raise ActRepError(f"--{name} takes auto, true or false (got {value!r})")
    return _WORDS[word]


@dataclass(frozen=True)
class Launch:
    """What the run is launched on, as far as the fast path cares."""

    processes: int
    zero_stage: int | None  # None: no DeepSpeed
    cuda: bool
    attn_implementation: str
    lora: bool
    moe: bool
    vision_trainable: bool = False


@dataclass
class FastPath:
    vision_attention: bool
    decode: bool
    shared_prefix: bool
    cuda_graphs: bool
    vision_once: bool
    off: dict[str, str] = field(default_factory=dict)  # piece -> why it is off
    micro_batch_rows: int = 0  # completions per log-prob / training forward (micro_batch_rows())

    def header(self) -> str:
        on = ["vision features once per video" if self.vision_once else "vision features recomputed per pass (trainable vision side)"]
        if self.vision_attention:
            on.append("vision attention batched")
        if self.decode:
            on.append("decode fast (prefill once, " + ("CUDA graphs)" if self.cuda_graphs else "eager steps: no CUDA graphs on a CPU)"))
        if self.shared_prefix:
            on.append(f"log-probs shared prefix (lean LM head, {self.micro_batch_rows} completions per micro-batch)")
        line = "fast path: " + ", ".join(on)
        if self.off:
            line += "; off: " + "; ".join(f"{piece} ({why})" for piece, why in self.off.items())
        return line


def _obstacles(launch: Launch) -> dict[str, str | None]:
    """Why each piece cannot run on this launch (None: it can)."""
    attn = launch.attn_implementation or "sdpa"
    flash = "flash" in attn
    engine = (f"DeepSpeed ZeRO-{launch.zero_stage}" if launch.zero_stage is not None
              else f"DDP, {launch.processes} processes" if launch.processes > 1 else None)
    vision = None
    if flash:
        vision = f"{attn} already runs the vision windows in one varlen kernel"
    elif attn != "sdpa":
        vision = f"attn_implementation {attn}: the batched call is sdpa"
    decode = None
    if launch.moe:
        decode = "MoE text layers: the fast decoder is written for dense layers; HF generate"
    elif launch.lora:
        decode = "LoRA adapters on the decoder layers: the fast decoder reads plain weights; HF generate"
    elif launch.zero_stage == 3:
        decode = "ZeRO-3: the weights exist only inside the per-step gather; HF generate"
    prefix = None
    if engine:
        prefix = f"{engine}: the shared-prefix forward runs the decoder layers outside the wrapped forward; per-sequence log-probs"
    elif attn not in ("sdpa", "eager"):
        prefix = f"attn_implementation {attn}: its mask is built for sdpa or eager only; per-sequence log-probs"
    return {"fast_vision_attention": vision, "fast_decode": decode, "shared_prefix": prefix}


def micro_batch_rows(micro_batch_size: int, group: int, shared_prefix: bool, loss_type: str) -> int:
    """Completions per forward. The shared-prefix forward runs a group's prompt once per micro-batch that holds
    any of its completions, and the prompt is most of the tokens (~4.7K of ~7K at G = 8 x 256), so there a
    micro-batch holds whole groups: micro_batch_size rounded up to a multiple of G. The loss and gradients are
    the same for every chunking except bnpo, which normalises by each micro-batch's own tokens (as TRL's does):
    bnpo keeps micro_batch_size as given."""
    if not shared_prefix or loss_type == "bnpo":
        return micro_batch_size
    return -(-micro_batch_size // group) * group


def resolve_fast_path(args, launch: Launch) -> FastPath:
    """The pieces this run uses: auto -> on unless an obstacle (or --fast_path false); true with an obstacle -> error."""
    obstacles = _obstacles(launch)
    chosen, off = {}, {}
    for name, piece in PIECES.items():
        want, obstacle = requested(getattr(args, name), name), obstacles[name]
        if want is True and obstacle:
            raise ActRepError(f"--{name} true cannot apply: {obstacle.split(';')[0]} (use --{name} auto or false)")
        if want is None:
            reason = obstacle if args.fast_path else "--fast_path false"
            chosen[name] = reason is None
        else:
            chosen[name], reason = want, f"--{name} false"
        if not chosen[name]:
            off[piece] = reason
    return FastPath(vision_attention=chosen["fast_vision_attention"], decode=chosen["fast_decode"],
                    shared_prefix=chosen["shared_prefix"], cuda_graphs=launch.cuda, vision_once=not launch.vision_trainable,
                    off=off, micro_batch_rows=micro_batch_rows(args.micro_batch_size, args.num_generations,
                                                               chosen["shared_prefix"], args.loss_type))
