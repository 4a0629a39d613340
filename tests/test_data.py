"""Dataset manifests and `actrep data validate|stats`: every planted defect gives a one-line message."""

import json

import pytest

from actrep.cli import main
from actrep.manifest import load_manifest, load_samples
from actrep.data.validate import validate
from actrep.errors import ActRepError
from helpers import write_repcount, write_video

CLEAN = {
    "train": [["squat", "a.mp4", 2, 1, 5, 5, 10], ["jump", "b.mp4", 1, 2, 8]],
    "test": [["squat", "c.mp4", 3, 0, 4, 4, 8, 8, 12]],
}


def _messages(report):
    return [(p.severity, p.row, p.message) for p in report.problems]


def test_clean_repcount_folder(tmp_path, capsys):
    root = write_repcount(tmp_path / "ds", CLEAN)
    report = validate(root, progress=False)
    assert report.problems == []
    samples = load_samples(root)
    assert [(s.split, s.video_id, s.count, s.boundaries) for s in samples][:1] == [("train", "a.mp4", 2, [(1, 5), (5, 10)])]
    assert samples[0].video_path == root / "video" / "train" / "a.mp4"
    assert samples[0].intervals_seconds(fps=8) == [(0.125, 0.625), (0.625, 1.25)]
    assert main(["data", "validate", str(root)]) == 0
    out = capsys.readouterr().out
    assert "no errors" in out and "train" in out and "test" in out
    assert main(["data", "stats", str(root)]) == 0
    assert "squat" in capsys.readouterr().out


def test_planted_defects_are_all_reported(tmp_path, capsys):
    rows = {"train": [
        ["squat", "ok.mp4", 2, 1, 5, 5, 10],           # 1 fine
        ["squat", "missing.mp4", 1, 1, 5],             # 2 video missing
        ["squat", "zero.mp4", 1, 1, 5],                # 3 zero-byte file
        ["squat", "text.mp4", 1, 1, 5],                # 4 a text file named .mp4
        ["squat", "one.mp4", 1, 0, 0],                 # 5 one frame (and an empty rep)
        ["squat", "ok2.mp4", "2.5", 1, 5, 5, 10],      # 6 non-integer count
        ["squat", "ok3.mp4", -1],                      # 7 negative count
        ["squat", "ok4.mp4", 3, 1, 5, 5, 10],          # 8 count disagrees with boundaries
        ["squat", "ok5.mp4", 1, 10, 99],               # 9 boundary past the last frame (24 frames)
        ["squat", "ok.mp4", 2, 1, 5, 5, 10],           # 10 duplicate of row 1
        ["squat", "../escape.mp4", 1, 1, 5],           # 11 escapes the video folder
        ["squat", "ok6.mp4", 2, 1, 8, 5, 12],          # 12 overlapping reps: a warning
        ["squat", "ok7.mp4", 0],                       # 13 count 0: a warning
        ["squat", "ok8.mp4", 2, 1, 5, 2, 10],          # 14 warning: overlap ... and out of order? (2 < 5 but 2 > 1)
    ]}
    root = write_repcount(tmp_path / "ds", rows, make_videos=False)
    video_dir = root / "video" / "train"
    for name in ("ok.mp4", "ok2.mp4", "ok3.mp4", "ok4.mp4", "ok5.mp4", "ok6.mp4", "ok7.mp4", "ok8.mp4"):
        write_video(video_dir / name, n_frames=24)
    (video_dir / "zero.mp4").write_bytes(b"")
    (video_dir / "text.mp4").write_text("hello\n")
    write_video(video_dir / "one.mp4", n_frames=1)
    report = validate(root, progress=False)
    found = {}
    for severity, row, message in _messages(report):
        found.setdefault(row, []).append((severity, message))
    expected = {2: "not found", 3: "empty", 4: "not a readable video", 5: "at least 2 frames", 6: "not a whole number",
                7: "negative", 8: "count 3 but 2 boundary pairs", 9: "past the last frame", 10: "duplicate of",
                11: "escapes the video folder", 12: "overlap", 13: "count 0"}
    for row, fragment in expected.items():
        assert any(fragment in message for _, message in found.get(row, [])), (row, found.get(row))
    assert found[12] == [("warning", found[12][0][1])] and found[13][0][0] == "warning"
    assert 1 not in found
    assert all("\n" not in m for _, _, m in _messages(report))
    assert main(["data", "validate", str(root), "--write_clean", str(tmp_path / "clean.jsonl")]) == 1
    clean = [json.loads(line) for line in (tmp_path / "clean.jsonl").read_text().splitlines()]
    assert {r["video_id"] for r in clean} == {"ok.mp4", "ok6.mp4", "ok7.mp4", "ok8.mp4"}
    assert validate(tmp_path / "clean.jsonl", progress=False).errors == []


def test_bom_crlf_and_unicode(tmp_path):
    root = tmp_path / "ds"
    write_video(root / "video" / "test" / "ü.mp4")
    text = "type,name,count,L1,L2\r\nsaut_à_la_corde,ü.mp4,1,2,9\r\n"
    (root / "test.csv").write_bytes("\ufeff".encode() + text.encode())
    report = validate(root, progress=False)
    assert report.problems == []
    assert report.manifest.samples[0].action == "saut_à_la_corde"


def test_simplified_csv_and_jsonl_schemas(tmp_path):
    write_video(tmp_path / "test" / "v1.mp4")
    write_video(tmp_path / "v2.mp4")
    (tmp_path / "simple.csv").write_text("video_id,split,action,count,L1,L2\nv1,test,squat,1,2,9\n")
    sample = load_samples(tmp_path / "simple.csv")[0]
    assert (sample.video_id, sample.count, sample.boundaries, sample.video_path.name) == ("v1", 1, [(2, 9)], "v1.mp4")
    lines = [{"video_id": "v2.mp4", "split": "test", "action": "jump", "gt_count": 4, "cot": "<think>x</think>"},
             {"video_id": "v2.mp4", "ground_truth": {"action": "jump", "count": 3}, "clip_start": 0.5, "clip_end": 2.0},
             {"video_id": "v2.mp4", "action": "jump"}]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    manifest = load_manifest(tmp_path / "d.jsonl")
    assert [(s.count, s.cot) for s in manifest.samples] == [(4, "<think>x</think>"), (3, None)]
    assert manifest.samples[1].clip_start == 0.5
    assert sorted((p.row, p.message.split(" ")[0]) for p in manifest.problems) == [(3, "count"), (4, "invalid")]


def test_empty_and_unknown_inputs(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ActRepError, match="empty"):
        load_manifest(tmp_path / "empty.csv")
    (tmp_path / "weird.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ActRepError, match="unknown CSV header"):
        load_manifest(tmp_path / "weird.csv")
    (tmp_path / "header_only").mkdir()
    (tmp_path / "header_only" / "test.csv").write_text("type,name,count\n")
    report = validate(tmp_path / "header_only", progress=False)
    assert [p.message for p in report.errors] == ["the dataset has no rows"]
    with pytest.raises(ActRepError, match="no usable samples"):
        load_samples(tmp_path / "header_only")
    with pytest.raises(ActRepError, match="no train.csv"):
        load_manifest(tmp_path)
