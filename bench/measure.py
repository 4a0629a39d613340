"""Timing (CUDA events, no syncs inside a step), memory, device ceilings, FLOP and byte counts."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections import defaultdict

import torch

# Dense bf16 tensor-core peak and HBM bandwidth from the datasheets (leads; the suite also measures both).
NOMINAL = {
    "H100 PCIe": (756e12, 2.0e12),
    "H100 NVL": (835e12, 3.9e12),
    "H100": (989.4e12, 3.35e12),  # SXM5 80 GB
    "H200": (989.4e12, 4.8e12),
    "A100": (312e12, 2.0e12),
}


def nominal(device_name: str):
    for key, value in NOMINAL.items():
        if key in device_name:
            return value
    return None, None


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


class PhaseTimer:
    """Accumulates named phases of one step. CUDA: events recorded on the stream (read after one sync)."""

    def __init__(self, device):
        self.cuda = torch.device(device).type == "cuda"
        self.device = device
        self.intervals: dict[str, list] = defaultdict(list)

    def mark(self):
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def add(self, name: str, start, end) -> None:
        self.intervals[name].append((start, end))

    @contextlib.contextmanager
    def phase(self, name: str):
        start = self.mark()
        try:
            yield
        finally:
            self.add(name, start, self.mark())

    def seconds(self) -> dict[str, float]:
        sync(self.device)
        out = {}
        for name, pairs in self.intervals.items():
            if self.cuda:
                out[name] = sum(s.elapsed_time(e) for s, e in pairs) / 1000.0
            else:
                out[name] = sum(e - s for s, e in pairs)
        return out


class GenerateSplit:
    """Splits one HF `generate` call into prefill (up to the 2nd forward) and decode (the rest)."""

    def __init__(self, model, timer: PhaseTimer):
        self.model, self.timer, self.marks = model, timer, []

    def _hook(self, module, args, kwargs):
        if len(self.marks) < 2:
            self.marks.append(self.timer.mark())

    @contextlib.contextmanager
    def measure(self):
        handle = self.model.register_forward_pre_hook(self._hook, with_kwargs=True)
        start = self.timer.mark()
        try:
            yield
        finally:
            end = self.timer.mark()
            handle.remove()
            split = self.marks[1] if len(self.marks) > 1 else end
            self.timer.add("prefill", start, split)
            self.timer.add("decode", split, end)


def reset_memory(device) -> None:
    """Start a new peak (of allocated tensors; the allocator's cache is kept, so no cudaMalloc lands in a timing)."""
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_gb(device):
    if torch.device(device).type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return None


def allocated_gb(device):
    if torch.device(device).type == "cuda":
        return torch.cuda.memory_allocated(device) / 2**30
    return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def device_info(device) -> dict:
    import platform

    import transformers

    info = {"torch": torch.__version__, "transformers": transformers.__version__, "python": platform.python_version()}
    try:
        import trl

        info["trl"] = trl.__version__
    except Exception:  # noqa: BLE001 - trl (or a dependency of it) missing: the baseline falls back to a local log-softmax
        info["trl"] = None
    if torch.device(device).type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(name=props.name, capability=f"{props.major}.{props.minor}", memory_gb=round(props.total_memory / 2**30, 1),
                    multiprocessors=props.multi_processor_count, cuda=torch.version.cuda)
        peak, bandwidth = nominal(props.name)
        info.update(nominal_bf16_flops=peak, nominal_hbm_bytes_per_s=bandwidth)
    else:
        info.update(name=f"cpu ({platform.processor() or platform.machine()})", threads=torch.get_num_threads())
    return info


def measure_ceilings(device) -> dict:
    """Measured HBM bandwidth (device-to-device copy, read + write bytes) and bf16 matmul throughput."""
    if torch.device(device).type != "cuda":
        return {}
    out = {}
    src = torch.randn(2**29 // 2, device=device, dtype=torch.bfloat16)  # 0.5 GiB
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    times = []
    for _ in range(10):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        dst.copy_(src)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    out["hbm_bytes_per_s"] = 2 * src.numel() * src.element_size() / statistics.median(times)
    del src, dst
    n = 8192
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(10):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    out["matmul_bf16_flops"] = 2 * n**3 / statistics.median(times)
    del a, b
    torch.cuda.empty_cache()
    return out


# ----------------------------------------------------------------------------------------- counts


def _linear_params(module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, torch.nn.Linear))


class CostModel:
    """FLOPs of the minimal GRPO step (vision once, prompt once) and bytes of one decode step."""

    def __init__(self, model, grid, prompt_length: int):
        base = model.model
        text = base.language_model.config
        self.layers = text.num_hidden_layers
        self.heads = text.num_attention_heads
        self.kv_heads = text.num_key_value_heads
        self.head_dim = getattr(text, "head_dim", None) or text.hidden_size // self.heads
        self.hidden = text.hidden_size
        self.vocab = text.vocab_size
        self.layer_linear = sum(_linear_params(layer) for layer in base.language_model.layers)
        self.head_params = model.lm_head.weight.numel()
        self.vision_linear = _linear_params(base.visual)
        vcfg = base.visual.config
        t, h, w = (int(x) for x in grid[0].tolist())
        self.patches = t * h * w
        self.vision_layers = vcfg.depth
        self.vision_hidden = vcfg.hidden_size
        window = getattr(vcfg, "window_size", None)
        full = set(getattr(vcfg, "fullatt_block_indexes", []) or range(vcfg.depth)) if window else set(range(vcfg.depth))
        per_window = (window // vcfg.patch_size) ** 2 if window else h * w
        self.vision_attention_keys = [h * w if i in full else per_window for i in range(vcfg.depth)]
        self.prompt = prompt_length
        dtype_bytes = model.lm_head.weight.element_size()
        self.weight_bytes = (self.layer_linear + self.head_params) * dtype_bytes
        self.kv_bytes_per_token = self.layers * 2 * self.kv_heads * self.head_dim * dtype_bytes

    def vision_flops(self) -> float:
        attn = sum(4 * self.vision_hidden * keys for keys in self.vision_attention_keys) * self.patches
        return 2 * self.vision_linear * self.patches + attn

    def lm_forward_flops(self, tokens: int, mean_context: float, head_rows: int) -> float:
        attn = 4 * self.heads * self.head_dim * mean_context * self.layers
        return tokens * (2 * self.layer_linear + attn) + 2 * self.head_params * head_rows

    def step_flops(self, group: int, new_tokens: int) -> dict:
        P, G, N = self.prompt, group, new_tokens
        vision = self.vision_flops()
        prefill = self.lm_forward_flops(P, P / 2, 1)
        decode = self.lm_forward_flops(G * (N - 1), P + N / 2, G * (N - 1))
        forward = self.lm_forward_flops(P, P / 2, 0) + self.lm_forward_flops(G * N, P + N / 2, G * N)
        return {"vision": vision, "prefill": prefill, "decode": decode, "ref": forward, "train": 3 * forward,
                "total": vision + prefill + decode + 4 * forward}

    def decode_step_bytes(self, videos: int, rows: int, new_tokens: int, shared_prefix: bool) -> float:
        """Weights + the KV read by one decode step (bf16 KV, the floor of the algorithm)."""
        prefix_copies = videos if shared_prefix else rows
        return self.weight_bytes + self.kv_bytes_per_token * (prefix_copies * self.prompt + rows * new_tokens / 2)
