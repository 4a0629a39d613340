"""actrep synth: exact ground truth, determinism, every family renders and moves, count
distributions, CSV/sidecar layout, preview, bad options, CLI end to end. Tiny clips (64x64, 2-4 s)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from actrep.errors import ActRepError
from actrep.synth import (
    ACTIONS,
    REP_DEFINITIONS,
    SCENE_DESCRIPTIONS,
    SynthConfig,
    VideoSpec,
    count_probabilities,
    decode,
    frame_phases,
    make_preview,
    render_frames,
    sample_spec,
    validate,
    write_dataset,
)
from actrep.synth.cli import main
from actrep.synth.spec import families_of

TINY = dict(size="64", fps=8.0, duration=3.0, min_count=1, max_count=5, quiet=True)


def _tiny(out, **kw) -> SynthConfig:
    return SynthConfig(output_dir=str(out), **{**TINY, **kw})


def _check_intervals(spec: VideoSpec, min_rep: int) -> None:
    assert spec.count == len(spec.intervals) >= 1
    assert spec.boundaries == [b for iv in spec.intervals for b in iv]
    prev_end = 0
    for s, e in spec.intervals:
        assert isinstance(s, int) and isinstance(e, int)
        assert 0 <= prev_end <= s < e <= spec.frames - 1  # inside the clip, ordered, never straddling an edge
        assert e - s >= min_rep
        prev_end = e


@pytest.mark.parametrize("preset", ["easy", "medium", "hard"])
@pytest.mark.parametrize("duration", [None, 10.0])
def test_specs_have_exact_consistent_boundaries(preset, duration):
    cfg = SynthConfig(preset=preset, duration=duration, fps=8.0, min_count=1, max_count=19)
    for i in range(120):
        spec = sample_spec(7, cfg, i)
        _check_intervals(spec, cfg.min_rep_frames)
        if duration is not None:
            assert spec.frames == 80  # fixed duration: exactly round(duration * fps) frames
        else:
            assert spec.frames <= round(cfg.max_duration * cfg.fps)
        assert spec.intervals_s == [[s / 8.0, e / 8.0] for s, e in spec.intervals]
        again = sample_spec(7, cfg, i)
        assert again == spec
        assert VideoSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_tight_fixed_duration_gives_every_rep_the_minimum_frames():
    cfg = SynthConfig(duration=10.0, fps=8.0, min_count=19, max_count=19, preset="hard")
    spec = sample_spec(0, cfg, 3)
    assert spec.count == 19 and spec.frames == 80
    # 19 reps of >= 4 frames need 76 of the 79 frame steps: idle time is squeezed out first
    lengths = [e - s for s, e in spec.intervals]
    assert min(lengths) == 4 and sum(lengths) == 79
    assert spec.intervals[0][0] == 0 and spec.intervals[-1][1] == 79
    # derived durations longer than --max-duration are compressed into it
    cfg = SynthConfig(fps=8.0, min_count=30, max_count=30, max_duration=20.0, preset="hard")
    for i in range(20):
        spec = sample_spec(0, cfg, i)
        assert spec.frames <= 160
        _check_intervals(spec, 4)


def test_back_to_back_reps_share_a_boundary_and_pauses_exist():
    cfg = SynthConfig(preset="hard", min_count=8, max_count=8)
    shared = gaps = 0
    for i in range(60):
        iv = sample_spec(1, cfg, i).intervals
        shared += sum(a[1] == b[0] for a, b in zip(iv, iv[1:]))
        gaps += sum(a[1] < b[0] for a, b in zip(iv, iv[1:]))
    assert shared > 0 and gaps > 0


def test_count_distributions_are_honoured():
    n = 3000
    uni_cfg = SynthConfig(min_count=1, max_count=60, count_dist="uniform")
    tail_cfg = SynthConfig(min_count=1, max_count=60, count_dist="longtail")
    uni = np.array([sample_spec(11, uni_cfg, i).count for i in range(n)])
    tail = np.array([sample_spec(11, tail_cfg, i).count for i in range(n)])
    assert uni.min() >= 1 and uni.max() <= 60 and tail.min() >= 1 and tail.max() <= 60
    # uniform: every sixth of the range gets ~1/6
    hist = np.histogram(uni, bins=np.linspace(0.5, 60.5, 7))[0] / n
    assert np.all(np.abs(hist - 1 / 6) < 0.035), hist
    # longtail: many small counts, a tail past 40, frequencies follow c^-alpha
    counts, p = count_probabilities(tail_cfg)
    assert np.all(np.diff(p) < 0)
    assert abs((tail <= 5).mean() - p[:5].sum()) < 0.04
    assert (tail <= 5).mean() > 0.4 and (tail >= 40).sum() >= 0.5 * p[39:].sum() * n > 0
    assert np.median(tail) < np.median(uni) / 2


def test_every_family_renders_moves_and_rests_at_boundaries():
    assert len(ACTIONS) >= 6
    cfg = SynthConfig(preset="easy", size="64", fps=8.0, min_count=4, max_count=4)
    for i, action in enumerate(ACTIONS):
        spec = sample_spec(5, cfg, i)
        assert spec.action == action
        spec.knobs["sensor"]["noise"] = 0.0  # isolate the subject: no sensor noise, no idle sway
        spec.knobs["scene"]["sway"] = 0.0
        frames = render_frames(spec)
        assert frames.shape == (spec.frames, 64, 64, 3) and frames.dtype == np.uint8
        k, u = frame_phases(spec)
        rest = frames[spec.intervals[0][0]].astype(np.int16)
        # every frame at rest after an even number of reps (incl. lead-in) is pixel-identical
        at_rest = [t for t in range(spec.frames) if (u[t] == 0 and k[t] % 2 == 0) or (u[t] == 1 and k[t] % 2 == 1)]
        assert len(at_rest) >= 3
        for t in at_rest:
            assert np.array_equal(frames[t], frames[spec.intervals[0][0]]), (action, t)
        s, e = spec.intervals[0]
        moved = max(int((np.abs(frames[t].astype(np.int16) - rest).max(-1) > 40).sum()) for t in range(s, e + 1))
        assert moved >= 40, (action, moved)  # the subject visibly moves during a repetition


def test_render_is_deterministic_and_replays_from_the_sidecar():
    cfg = SynthConfig(preset="hard", size="64", duration=2.0, max_count=4)
    spec = sample_spec(3, cfg, 2)
    a = render_frames(spec)
    b = render_frames(VideoSpec.from_dict(json.loads(json.dumps(spec.to_dict()))))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, render_frames(sample_spec(4, cfg, 2)))


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def tiny_sets(tmp_path_factory):
    base = tmp_path_factory.mktemp("synth")
    one = _tiny(base / "w1", n=8, seed=5, workers=1, preset="hard")
    two = _tiny(base / "w2", n=8, seed=5, workers=2, preset="hard")
    return write_dataset(one), write_dataset(two), base


def test_dataset_layout_matches_repcount(tiny_sets):
    summary, _, base = tiny_sets
    root = base / "w1"
    assert summary["videos"] == 8 and summary["splits"] == {"train": 6, "valid": 1, "test": 1}
    for split in ("train", "valid", "test"):
        header, rows = _read_csv(root / f"{split}.csv")
        width = max(2 * int(r[2]) for r in rows)
        assert header == ["type", "name", "count"] + [f"L{i}" for i in range(1, width + 1)]
        metas = [json.loads(line) for line in (root / "meta" / f"{split}.jsonl").read_text().splitlines()]
        assert len(metas) == len(rows)
        for row, meta in zip(rows, metas):
            assert len(row) == len(header)  # padded with empty cells
            action, name, count = row[0], row[1], int(row[2])
            bounds = [int(x) for x in row[3 : 3 + 2 * count]]
            assert all(x == "" for x in row[3 + 2 * count :])
            assert action in ACTIONS and re.fullmatch(rf"{action}_\d{{5}}\.mp4", name)
            assert meta["name"] == name and meta["count"] == count and meta["split"] == split
            assert [b for iv in meta["intervals"] for b in iv] == bounds
            assert meta["intervals_s"] == [[s / meta["fps"], e / meta["fps"]] for s, e in meta["intervals"]]
            for key in ("timing", "motion", "scene", "camera", "sensor", "occluder", "distractor"):
                assert key in meta["knobs"]
            frames, fps = decode(root / "video" / split / name)
            assert fps == 8.0 and frames.shape == (meta["frames"], 64, 64, 3) and meta["frames"] == 24
            assert all(0 <= b <= meta["frames"] - 1 for b in bounds)
            # the mp4 holds the spec's frames (lossy: compare after removing the sensor noise x264 drops)
            ref = render_frames(VideoSpec.from_dict(meta))
            smooth = [np.stack([cv2.GaussianBlur(f, (0, 0), 1.5) for f in v]).astype(np.float32) for v in (frames, ref)]
            assert np.abs(smooth[0] - smooth[1]).mean() < 3.0


def test_dataset_is_deterministic_across_worker_counts(tiny_sets):
    s1, s2, base = tiny_sets
    assert s1["workers"] == 1 and s2["workers"] == 2
    a, b = base / "w1", base / "w2"
    for name in ("train.csv", "valid.csv", "test.csv", "meta/train.jsonl", "meta/test.jsonl", "meta/config.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    videos = sorted(p.relative_to(a) for p in a.glob("video/*/*.mp4"))
    assert len(videos) == 8 and videos == sorted(p.relative_to(b) for p in b.glob("video/*/*.mp4"))
    for rel in videos:
        assert np.array_equal(decode(a / rel)[0], decode(b / rel)[0]), rel
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_preview_png(tiny_sets, tmp_path):
    _, _, base = tiny_sets
    out = make_preview(base / "w1", tmp_path / "sheet.png", rows=4, cols=5, tile=48)
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] >= 4 * 48 and img.shape[1] >= 5 * 48
    small = make_preview(base / "w1", tmp_path / "small.png", rows=4, cols=5, tile=48, colors=64)
    assert cv2.imread(str(small)).shape == img.shape and small.stat().st_size < out.stat().st_size


def test_held_out_split_and_overwrite_guard(tmp_path):
    cfg = _tiny(tmp_path / "held", n=3, seed=9, splits="test=1", workers=1, families=["pendulum", "squat"])
    summary = write_dataset(cfg)
    assert summary["splits"] == {"test": 3}
    assert sorted(p.name for p in (tmp_path / "held").glob("*.csv")) == ["test.csv"]
    assert {r[0] for r in _read_csv(tmp_path / "held" / "test.csv")[1]} == {"pendulum", "squat"}
    with pytest.raises(ActRepError, match="--overwrite"):
        write_dataset(cfg)
    cfg.overwrite = True
    assert write_dataset(cfg)["videos"] == 3


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(min_count=5, max_count=3), "larger than --max-count"),
        (dict(size="63"), "even"),
        (dict(size="16"), "between 32"),
        (dict(size="abc"), "not N or WxH"),
        (dict(fps=0.0), "--fps"),
        (dict(n=0), "--n"),
        (dict(families=["dance"]), "unknown family 'dance'"),
        (dict(duration=10.0, fps=8.0, max_count=20), "needs at least 81 frames"),
        (dict(splits="train=0.5,holdout=0.5"), "--splits"),
        (dict(duration=-1.0), "--duration"),
        (dict(min_count=0), "--min-count"),
        (dict(x264_preset="warp"), "--x264-preset"),
        (dict(crf=60), "--crf"),
    ],
)
def test_bad_options_raise_one_line_errors(kw, message):
    cfg = SynthConfig(output_dir="unused", **kw)
    with pytest.raises(ActRepError, match=re.escape(message)) as err:
        validate(cfg)
    assert "\n" not in str(err.value)


def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["--out", str(out), "--n", "4", "--seed", "2", "--size", "64", "--fps", "8", "--duration", "2",
            "--max-count", "3", "--workers", "1", "--quiet", "--families", "bouncing_ball", "box_transfer"]
    assert main(argv) == 0
    assert "wrote 4 videos" in capsys.readouterr().out
    assert (out / "train.csv").exists() and len(list(out.glob("video/*/*.mp4"))) == 4
    png = tmp_path / "p.png"
    assert main(["--preview", str(out), "--out", str(png), "--preview-rows", "2", "--preview-cols", "3"]) == 0
    assert cv2.imread(str(png)) is not None
    with pytest.raises(ActRepError, match="larger than"):
        main(["--out", str(tmp_path / "x"), "--min-count", "9", "--max-count", "2"])


def test_families_take_commas_as_well_as_spaces():
    # results/scratch/run.sh passes FAMILIES=squat,pendulum as one argument; it was one unknown name once
    assert families_of(SynthConfig(output_dir="unused", families=["squat,pendulum"])) == ("squat", "pendulum")
    assert families_of(SynthConfig(output_dir="unused", families=["squat", "pendulum,squat"])) == ("squat", "pendulum")
    assert families_of(SynthConfig(output_dir="unused")) == ACTIONS
    with pytest.raises(ActRepError, match="unknown family 'dance'"):
        families_of(SynthConfig(output_dir="unused", families=["squat,dance"]))


def test_cli_reads_a_yaml_recipe(tmp_path):
    recipe = tmp_path / "synth.yaml"
    recipe.write_text(f"out: {tmp_path / 'y'}\nn: 2\nsize: '64'\nduration: 2\nmax_count: 3\nworkers: 1\nquiet: true\n")
    assert main(["--config", str(recipe), "--seed", "4"]) == 0
    assert len(list((tmp_path / "y").glob("video/*/*.mp4"))) == 2


def test_definitions_for_the_cot_builder():
    assert set(REP_DEFINITIONS) == set(SCENE_DESCRIPTIONS) == set(ACTIONS)
    for action in ACTIONS:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", action)
        for text in (REP_DEFINITIONS[action], SCENE_DESCRIPTIONS[action]):
            assert text and text[0].islower() and not text.endswith(".")


def test_generated_data_passes_the_dataset_validator_and_loader(tiny_sets):
    from actrep.manifest import load_samples
    from actrep.data.validate import validate as validate_data

    _, _, base = tiny_sets
    report = validate_data(base / "w1", progress=False)
    assert report.problems == []
    samples = load_samples(base / "w1")
    assert len(samples) == 8
    for sample in samples:
        assert sample.count == len(sample.boundaries) >= 1
        assert sample.video_path.exists()
