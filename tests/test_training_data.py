"""CoT and RCS as recipe options: built on the fly for SFT (drawn once) and GRPO (redrawn per epoch)."""

from actrep.answer import count_listed, parse_count, parse_listed_reps
from actrep.cli import main
from actrep.train.data import DataArguments, TrainingSamples


def test_cot_is_built_for_annotated_rows(synth_data):
    samples = TrainingSamples(DataArguments(train_data=[str(synth_data)]), seed=0, need_cot=True).epoch(0)
    assert len(samples) == 8
    for sample in samples:
        assert parse_count(sample.cot) == sample.count == count_listed(parse_listed_reps(sample.cot))


def test_rcs_on_the_fly_redraws_per_epoch_and_keeps_whole_reps(synth_data):
    args = DataArguments(train_data=[str(synth_data)], rcs=True, rcs_strata="1-2,3-4,5-6", rcs_per_video=2, rcs_keep_originals=False)
    provider = TrainingSamples(args, seed=3, need_cot=True)
    first, again, second = provider.epoch(0), TrainingSamples(args, seed=3, need_cot=True).epoch(0), provider.epoch(1)
    key = lambda samples: [(s.video_id, s.clip_start, s.clip_end) for s in samples]
    assert key(first) == key(again)  # deterministic for a seed
    assert key(first) != key(second)  # a new draw each epoch
    for clip in first:
        assert clip.clip_start is not None and clip.count == len(clip.boundaries) == len(clip.intervals)
        assert parse_count(clip.cot) == clip.count == count_listed(parse_listed_reps(clip.cot))
        assert clip.intervals[0][0] >= 0 and clip.intervals[-1][1] <= clip.clip_end - clip.clip_start + 1e-9


def test_sft_trains_on_rcs_clips_from_raw_annotations(synth_data, tiny_checkpoints, tmp_path):
    assert main(["sft", "--model_name_or_path", str(tiny_checkpoints["qwen2_5_vl"]), "--train_data", str(synth_data),
                 "--output_dir", str(tmp_path), "--rcs", "--rcs_strata", "1-2,3-6", "--max_steps", "2",
                 "--effective_batch_size", "0", "--report_to", "none", "--dataloader_num_workers", "0",
                 "--fps", "2", "--max_frames", "8", "--min_pixels", "784", "--max_pixels", "3136"]) == 0
    assert (tmp_path / "model.safetensors").exists()


def test_grpo_trains_with_rcs(synth_data, tiny_checkpoints, tmp_path):
    assert main(["grpo", "--model_name_or_path", str(tiny_checkpoints["qwen2_5_vl"]), "--train_data", str(synth_data),
                 "--output_dir", str(tmp_path), "--rcs", "--max_steps", "2", "--num_generations", "2", "--videos_per_step", "2",
                 "--max_completion_length", "4", "--report_to", "none", "--beta", "0",
                 "--fps", "2", "--max_frames", "8", "--min_pixels", "784", "--max_pixels", "3136"]) == 0
