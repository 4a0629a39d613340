"""Random Count Sampling: whole reps only, clip clock, quotas toward the target, determinism, CLI."""

import json
from pathlib import Path

import numpy as np
import pytest

from actrep.answer import parse_listed_reps
from actrep.cli import main
from actrep.manifest import Sample, load_manifest
from actrep.data.rcs import RCSConfig, parse_strata, parse_target, rcs_clips, rcs_epoch, stratum_shares, target_distance
from actrep.errors import ActRepError
from helpers import write_repcount


def _sample(i, bounds, fps=10.0, **kw):
    return Sample(f"v{i}.mp4", "squat", len(bounds), "train", Path(f"/data/v{i}.mp4"), bounds, fps=fps,
                  source="mem.csv", row=i + 1, **kw)


def _random_video(i, n, rng, overlaps=False):
    """n reps of 3-12 frames with idle gaps (or shared boundary frames, or overlaps); (sample, frames)."""
    t, bounds = int(rng.integers(0, 15)), []
    for _ in range(n):
        length = int(rng.integers(3, 13))
        bounds.append((t, t + length))
        t += length + int(rng.choice([0, 0, 2, 7] + ([-2] if overlaps else [])))
    return _sample(i, bounds), bounds[-1][1] + int(rng.integers(1, 15))


def _longtail(n_videos, seed=0):
    rng = np.random.default_rng(seed)
    counts = np.arange(1, 41)
    p = counts ** -1.5
    videos = [_random_video(i, int(rng.choice(counts, p=p / p.sum())), rng) for i in range(n_videos)]
    return [s for s, _ in videos], {str(s.video_path): f for s, f in videos}


def test_strata_parse_and_partition():
    assert [s.label for s in parse_strata("1-5,6-10,11-20,21+")] == ["1-5", "6-10", "11-20", "21+"]
    assert [s.label for s in parse_strata("1, 2-4")] == ["1", "2-4"]
    assert [s.label for s in parse_strata("0-0.25N,0.25N-0.5N,0.5N-0.75N,0.75N-N")] == \
        ["0-0.25N", "0.25N-0.5N", "0.5N-0.75N", "0.75N-N"]
    ratio = parse_strata("0-0.25N,0.25N-0.5N,0.5N-0.75N,0.75N-N")
    assert [list(s.ks(8)) for s in ratio] == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert [list(s.ks(3)) for s in ratio] == [[], [1], [2], [3]]  # 0.25*3 < 1: the first bin is empty
    for strata in (parse_strata("1-5,6-10,11-20,21+"), ratio, parse_strata("0-0.1N,0.1N-0.3N,0.3N-N")):
        for n in range(1, 61):  # every k of 1..N in exactly one stratum
            assert sorted(k for s in strata for k in s.ks(n)) == list(range(1, n + 1))
    assert [list(s.ks(12)) for s in parse_strata("1-5,6-10")] == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    for bad, message in [("1-5,7-10", "contiguous"), ("0-5", ">= 1"), ("1-5,6+,11+", "contiguous"), ("1-5,0.5N-N", "mixes"),
                         ("x", "not A-B"), ("0.5N-0.25N", "0 <= a < b"), ("0-0.5N,0.6N-N", "contiguous"), ("", "empty"),
                         ("0-2N", "b <= 1"), ("0.1-N", "multiple of N")]:
        with pytest.raises(ActRepError, match=message):
            parse_strata(bad)


def test_clips_hold_whole_reps_only():
    rng = np.random.default_rng(1)
    videos = [_random_video(i, int(rng.integers(1, 30)), rng, overlaps=True) for i in range(40)]
    samples, frames = [s for s, _ in videos], {str(s.video_path): f for s, f in videos}
    clips = rcs_clips(samples, RCSConfig(per_video=4, pad_max=1.0), np.random.default_rng(2), frames)
    strata = {s.label: s for s in parse_strata(RCSConfig().strata)}
    assert len(clips) > 100
    for clip in clips:
        p = clip.extra["rcs"]
        src = samples[int(p["source"].removeprefix("mem.csv row ")) - 1]
        j, k, fps = p["first_rep"] - 1, p["k"], clip.fps
        first, last = round(clip.clip_start * fps), round(clip.clip_end * fps)
        assert abs(clip.clip_start * fps - first) < 1e-9 and abs(clip.clip_end * fps - last) < 1e-9
        assert clip.count == k == len(clip.boundaries) == len(clip.intervals) and k in strata[p["stratum"]].ks(src.count)
        assert clip.boundaries == src.boundaries[j : j + k]
        assert clip.intervals == [((s - first) / fps, (e - first) / fps) for s, e in clip.boundaries]
        assert 0 <= first <= clip.boundaries[0][0] and clip.boundaries[-1][1] <= last <= frames[str(src.video_path)] - 1
        assert first >= clip.boundaries[0][0] - round(1.0 * fps) and last <= clip.boundaries[-1][1] + round(1.0 * fps)
        for r, (s, e) in enumerate(src.boundaries):  # no other rep has a frame inside, bar a shared boundary frame
            if r < j:
                assert e < first or e == first == clip.boundaries[0][0]
            elif r >= j + k:
                assert s > last or s == last == clip.boundaries[-1][1]
    keys = [(c.video_id, c.clip_start, c.clip_end) for c in clips]
    assert len(keys) == len(set(keys))  # a video never gives the same clip twice


def test_infeasible_strata_and_too_few_clips():
    three = _sample(0, [(0, 5), (5, 10), (10, 15)])
    clips = rcs_clips([three], RCSConfig(per_video=10), np.random.default_rng(0))
    assert sorted((c.extra["rcs"]["first_rep"], c.count) for c in clips) == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (3, 1)]
    assert {c.extra["rcs"]["stratum"] for c in clips} == {"1-5"}
    assert all(c.extra["rcs"]["pad_s"] == [0.0, 0.0] for c in clips)
    overlapping = _sample(1, [(0, 6), (5, 10), (10, 15)])  # reps 1 and 2 overlap: they cannot be cut apart
    assert sorted((c.extra["rcs"]["first_rep"], c.count) for c in rcs_clips([overlapping], RCSConfig(per_video=10),
                  np.random.default_rng(0))) == [(1, 2), (1, 3), (3, 1)]
    nested = _sample(2, [(0, 12), (3, 6), (6, 10), (12, 15)])  # rep 1 spans reps 2 and 3
    assert sorted((c.extra["rcs"]["first_rep"], c.count) for c in rcs_clips([nested], RCSConfig(per_video=10),
                  np.random.default_rng(0))) == [(1, 3), (1, 4), (4, 1)]
    unannotated = Sample("u.mp4", "squat", 4)
    kept = rcs_clips([unannotated, three], RCSConfig(per_video=1, keep_originals=True), np.random.default_rng(0))
    assert kept[0] is unannotated and kept[1] is three and len(kept) == 3


def test_histogram_moves_toward_the_target(tmp_path):
    samples, frames = _longtail(300)
    strata = parse_strata("1-5,6-10,11-20,21+")
    weights = parse_target("uniform", strata)
    before = target_distance(stratum_shares(samples, strata), weights)
    for keep in (False, True):
        out = rcs_epoch(samples, RCSConfig(per_video=4, keep_originals=keep), 0, frames)
        after = target_distance(stratum_shares(out, strata), weights)
        assert before > 0.4 and after < before / 2, (before, after)
    target = tmp_path / "target.yaml"
    target.write_text("1-5: 1\n6-10: 3\n")
    weights = parse_target(str(target), strata)
    assert weights.tolist() == [0.25, 0.75, 0.0, 0.0]
    out = rcs_epoch(samples, RCSConfig(per_video=1, target=str(target)), 0, frames)
    shares = stratum_shares(out, strata)
    assert shares[2] == shares[3] == 0 and shares[1] > 0.45  # every long video gives its one slot to 6-10
    assert target_distance(shares, weights) < target_distance(stratum_shares(samples, strata), weights) / 2
    ratio = parse_strata("0-0.25N,0.25N-0.5N,0.5N-0.75N,0.75N-N")
    out = rcs_epoch(samples, RCSConfig(strata="0-0.25N,0.25N-0.5N,0.5N-0.75N,0.75N-N", per_video=2), 0, frames)
    assert target_distance(stratum_shares(out, ratio), parse_target("uniform", ratio)) < 0.15
    for clip in out:
        n, k = clip.extra["rcs"]["source_count"], clip.count
        s = ratio[[r.label for r in ratio].index(clip.extra["rcs"]["stratum"])]
        assert s.lo * n < k <= s.hi * n


def test_target_file_errors(tmp_path):
    strata = parse_strata("1-5,6+")
    for text, message in [("7-9: 1\n", "unknown stratum"), ("1-5: -1\n", ">= 0"), ("1-5: 0\n", "sum to 0"),
                          ("[1, 2]\n", "mapping"), ("1-5: [\n", "not YAML")]:
        (tmp_path / "t.yaml").write_text(text)
        with pytest.raises(ActRepError, match=message):
            parse_target(str(tmp_path / "t.yaml"), strata)
    with pytest.raises(ActRepError, match="neither 'uniform' nor a file"):
        parse_target("balanced", strata)


def test_seed_determinism():
    samples, frames = _longtail(50)
    rows = lambda out: [json.dumps(c.to_json()) for c in out]  # noqa: E731
    config = RCSConfig(per_video=2, pad_max=0.5, seed=4)
    assert rows(rcs_epoch(samples, config, 0, frames)) == rows(rcs_epoch(samples, config, 0, frames))
    assert rows(rcs_epoch(samples, config, 0, frames)) != rows(rcs_epoch(samples, config, 1, frames))
    assert rows(rcs_epoch(samples, config, 0, frames)) != rows(rcs_epoch(samples, RCSConfig(per_video=2, pad_max=0.5, seed=5), 0, frames))


@pytest.mark.parametrize("sample, message", [
    (Sample("v.mp4", "squat", 3, boundaries=[(0, 5), (5, 10)], fps=10.0, source="d.csv", row=4),
     "d.csv row 4: count 3 but 2 boundary pairs"),
    (_sample(3, [(0, 5), (9, 7)]), "mem.csv row 4: rep 2 ends"),
    (_sample(3, [(6, 9), (0, 5)]), "mem.csv row 4: rep 2 starts .* not in order"),
    (_sample(3, [(0, 5)], fps=None), "mem.csv row 4: the frame rate"),
    (_sample(3, [(0, 5), (5, 12)], clip_start=0.2, clip_end=1.0), "mem.csv row 4: repetitions span frames 0-12, outside"),
])
def test_malformed_sources_raise(sample, message):
    with pytest.raises(ActRepError, match=message):
        rcs_clips([sample], RCSConfig(), np.random.default_rng(0))


def test_report_names_the_strata_short_of_their_share():
    """Counts 1-4, strata 1-2 / 3-4 (the demo's): sub-clips cannot have more reps than their source, so 3-4 stays short
    while 1-2 fills its quota and the distance to the target grows; the printout says which stratum and why."""
    from rich.console import Console

    from actrep.data.rcs import print_histograms

    rng = np.random.default_rng(0)
    videos = [_random_video(i, i % 4 + 1, rng) for i in range(40)]
    samples, frames = [s for s, _ in videos], {str(s.video_path): f for s, f in videos}
    config = RCSConfig(strata="1-2,3-4", per_video=2)
    strata = parse_strata(config.strata)
    weights = parse_target(config.target, strata)
    clips = rcs_clips(samples, config, np.random.default_rng(1), frames)
    assert stratum_shares(clips, strata)[1] < 0.49
    console = Console(record=True, width=200)
    print_histograms(console, samples, clips, strata, weights)
    text = console.export_text()
    assert "short of target: 3-4 (" in text and "at most its source's repetitions" in text and "1-2 (" not in text.split("short")[1]
    balanced = Console(record=True, width=200)
    print_histograms(balanced, samples, samples, strata, weights)  # the source itself is 50/50: nothing short
    assert "short of target" not in balanced.export_text()


# ------------------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory):
    from actrep.synth import SynthConfig, write_dataset

    out = tmp_path_factory.mktemp("synth") / "data"
    write_dataset(SynthConfig(output_dir=str(out), n=6, size="64", duration=3.0, max_count=5, workers=1, quiet=True, seed=3))
    return out


def test_cli_on_synthetic_data_validates_and_feeds_cot(synth_data, tmp_path, capsys):
    out = tmp_path / "rcs" / "rcs.jsonl"
    args = lambda seed: ["rcs", str(synth_data), "--out", str(out), "--strata", "1,2-3,4+", "--per_video", "3",  # noqa: E731
                         "--seed", seed, "--pad_max", "0.5", "--keep_originals", "true"]
    assert main(args("7")) == 0
    text = capsys.readouterr().out
    assert "count histogram" in text and "distance to target" in text and (tmp_path / "rcs" / "rcs_histogram.png").stat().st_size > 10_000
    manifest = load_manifest(out)
    assert manifest.problems == []
    clips = [s for s in manifest.samples if "rcs" in s.extra]
    assert len(manifest.samples) - len(clips) == 6 and len(clips) >= 12
    assert all(s.count == len(s.intervals) == len(s.boundaries) for s in clips)
    assert main(["data", "validate", str(out)]) == 0
    first = out.read_bytes()
    assert main(args("7")) == 0 and out.read_bytes() == first
    assert main(args("8")) == 0 and out.read_bytes() != first
    capsys.readouterr()
    cot = tmp_path / "cot.jsonl"
    assert main(["cot", str(out), "--out", str(cot)]) == 0
    for row in load_manifest(cot).samples:
        listed = [(i.start, i.end) for i in parse_listed_reps(row.cot)]
        assert listed == [(round(s + 1e-9, 1), round(e + 1e-9, 1)) for s, e in row.intervals]


def test_cli_on_repcount_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    root = write_repcount(tmp_path / "rc", {"train": [
        ["squat", "a.mp4", 3, 1, 5, 5, 10, 12, 20],
        ["pushups", "b.mp4", 2, 1, 5],             # count 2 but 1 pair
        ["situp", "c.mp4", 2, 2, 8, 8, 30],        # past the last frame (23)
        ["situp", "d.mp4", 2],                     # no boundaries: no clips
        ["jump_jack", "e.mp4", 4, 0, 4, 4, 9, 9, 14, 16, 22],
    ]}, n_frames=24)
    out = tmp_path / "rc.jsonl"
    assert main(["rcs", str(root), "--out", str(out), "--per_video", "2"]) == 0
    text = capsys.readouterr().out
    assert "2 row(s) skipped" in text and "count 2 but 1 boundary pairs" in text and "outside the video" in text
    assert "1 row(s) without repetition boundaries" in text
    manifest = load_manifest(out)
    assert manifest.problems == [] and {s.video_id for s in manifest.samples} == {"a.mp4", "e.mp4"} and len(manifest.samples) == 4
    assert main(["data", "validate", str(out)]) == 0


def test_balanced_target_evens_the_grpo_count_mix():
    """recipes/scratch/rcs_balanced.yaml: the metric's bins within a few points of a third each, where the
    GRPO recipe's strata leave 11-20 at ~13 % (the count mix that pulled the large counts' answers down)."""
    rng = np.random.default_rng(0)
    samples = []
    for i in range(1200):  # counts uniform 1-12, as run.sh's synthetic training videos
        n = int(rng.integers(1, 13))
        samples.append(_sample(i, [(5 + 6 * r, 9 + 6 * r) for r in range(n)], fps=8.0))
    bins = parse_strata("1-5,6-10,11-20")
    recipe = rcs_epoch(samples, RCSConfig(strata="1-3,4-6,7-9,10-12", keep_originals=True), 0)
    target = Path(__file__).resolve().parents[1] / "recipes/scratch/rcs_balanced.yaml"
    balanced = rcs_epoch(samples, RCSConfig(strata="1-5,6-10,11-20", target=str(target)), 0)
    assert stratum_shares(recipe, bins)[2] < 0.16
    shares = stratum_shares(balanced, bins)
    assert np.allclose(shares[:3], 1 / 3, atol=0.04) and shares[3] == 0, shares
    assert len(balanced) > 0.4 * len(samples)  # the 11-20 bin caps the others: ~half the videos give a clip
