"""Stage 0's probes: how much of the count the visual tokens already carry, read off the head on a
held-out set (phase error, active accuracy, start/end F1, and counts from the start and phase
predictions scored with the evaluation metrics)."""

from __future__ import annotations

import math

import torch

from actrep.metrics import compute_metrics
from actrep.train.stage0_head import pool_pairs, video_features


def count_from_starts(start_prob, threshold: float = 0.5) -> int:
    """Repetitions read off the head: runs of consecutive frame pairs with P(start) > threshold."""
    above = [p > threshold for p in start_prob]
    return sum(1 for i, a in enumerate(above) if a and (i == 0 or not above[i - 1]))


def count_from_phase(cos_sin) -> int:
    """Repetitions read off the head's phase: forward phase advance over the clip / (2*pi), rounded."""
    angles = [math.atan2(s, c) for c, s in cos_sin]
    total = 0.0
    for a, b in zip(angles, angles[1:]):
        d = (b - a + math.pi) % (2 * math.pi) - math.pi
        total += d
    return max(0, int(round(total / (2 * math.pi))))


@torch.no_grad()
def probe_metrics(model, head, loader, device, autocast, merge: int, fast: bool = True) -> dict:
    """Phase error, active accuracy, start/end F1 and counts read off the head on a held-out set."""
    model.eval()
    head.eval()
    angle_err, angle_n, active_hit, active_n = 0.0, 0, 0, 0
    tp = {3: 0, 4: 0}
    fp = {3: 0, 4: 0}
    fn = {3: 0, 4: 0}
    records_start, records_phase = [], []
    for batch in loader:
        with autocast():
            features, grid = video_features(model, batch, device, fast)
            pred = head(pool_pairs(features, grid, merge)).float().cpu()
        targets = batch["targets"]
        # phase error on pairs inside a repetition with a clear target direction
        mask = (targets[:, 2] > 0.99) & (targets[:, :2].norm(dim=1) > 0.5)
        if mask.any():
            a = torch.atan2(pred[mask, 1], pred[mask, 0])
            b = torch.atan2(targets[mask, 1], targets[mask, 0])
            angle_err += float(((a - b + math.pi) % (2 * math.pi) - math.pi).abs().sum())
            angle_n += int(mask.sum())
        clear = (targets[:, 2] == 0) | (targets[:, 2] == 1)
        active_hit += int(((pred[clear, 2] > 0) == (targets[clear, 2] > 0.5)).sum())
        active_n += int(clear.sum())
        for c in (3, 4):
            p, t = pred[:, c] > 0, targets[:, c] > 0.5
            tp[c] += int((p & t).sum())
            fp[c] += int((p & ~t).sum())
            fn[c] += int((~p & t).sum())
        start_prob = torch.sigmoid(pred[:, 3])
        offset = 0
        for count, pairs, action in zip(batch["counts"].tolist(), batch["pairs"].tolist(), batch["actions"]):
            part = slice(offset, offset + pairs)
            records_start.append({"count": count, "pred": count_from_starts(start_prob[part].tolist()), "action": action})
            records_phase.append({"count": count, "pred": count_from_phase(pred[part, :2].tolist()), "action": action})
            offset += pairs

    def f1(c):
        return 2 * tp[c] / max(1, 2 * tp[c] + fp[c] + fn[c])

    bins = (0, 1, 4, 7, 10, 13, 21)
    by_start = compute_metrics(records_start, bins=bins)
    by_phase = compute_metrics(records_phase, bins=bins)
    keep = ("n", "obo", "exact", "mae", "abs_mae", "rmse")
    return {
        "videos": len(records_start),
        "phase_error_deg": math.degrees(angle_err / max(1, angle_n)),
        "active_accuracy": active_hit / max(1, active_n),
        "start_f1": f1(3), "end_f1": f1(4),
        "count_from_starts": {**{k: by_start[k] for k in keep}, "by_bin": {b: {k: v[k] for k in ("n", "obo", "mae")} for b, v in by_start["by_bin"].items()}},
        "count_from_phase": {k: by_phase[k] for k in keep},
    }
