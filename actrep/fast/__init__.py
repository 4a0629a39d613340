"""Speed-ups for video GRPO and evaluation, each one exact and measurable on its own (bench/).

    features          the vision encoder's output handed to every forward by reference (computed once
                      per video; the plain GRPO path uses it too)
    vision_attention  one batched sdpa call per vision layer over equal-sized windows/frames (exact),
                      index tensors precomputed on the host instead of `.tolist()` syncs per layer
    prefix            the prompt computed once per video in the training/reference forward, the G
                      completions attending to its keys/values (gradients identical to G full forwards)
    logps             memory-lean log-probabilities: chunked LM head over completion positions only,
                      logits recomputed in backward instead of kept
    decode            prefill once per video, G rollouts decoded against the shared prompt KV, static
                      buffers + CUDA graphs (+ torch.compile of the per-layer math) for the decode step

`actrep grpo` uses them by default where they apply (actrep/train/grpo_fast.py decides and says why;
`--fast_path false` is the stock path). docs/performance.md explains each one and the measurements.

A foundation: imports torch and transformers, never actrep's jobs (train/ imports fast/, not back).
"""
