"""The vision encoder's output, computed once per video and handed to every forward that needs it.

`select_features(features, index)` is the `mm_encoder_outputs` argument for a batch whose i-th
sequence shows video `index[i]`: references to the per-video features, never a copy and never a
second vision pass. Generation (actrep.train.rollout, decode.py) and every log-prob pass use it.
"""

from __future__ import annotations


def select_features(features, index) -> dict:
    """`mm_encoder_outputs` for sequences whose i-th row uses video `index[i]` (references only).

    A fresh output object every time: generation expands the object it is given in place.
    """
    index = [int(i) for i in index]
    selected = type(features)(**dict(features.items()))
    selected.pooler_output = [features.pooler_output[i] for i in index]
    if getattr(features, "deepstack_features", None) is not None:
        selected.deepstack_features = [[layer[i] for i in index] for layer in features.deepstack_features]
    return {"video": selected}
