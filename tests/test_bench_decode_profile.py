"""bench.decode_profile: ncu's CSV (scaled units, the units row, ==PROF== lines) to per-category tables; the run verb on a toy model."""

from __future__ import annotations

import json

import pytest

from bench import decode_profile

HEADER = ('"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC",'
          '"dram__bytes_read.sum","dram__bytes_write.sum","dram__throughput.avg.pct_of_peak_sustained_elapsed",'
          '"gpu__time_duration.sum","sm__throughput.avg.pct_of_peak_sustained_elapsed"')
UNITS = '"","","","","","","","","","","","Mbyte","Kbyte","%","usecond","%"'


def row(i, name, grid, read_mb, write_kb, us):
    return f'"{i}","1","python3.12","host","{name}","1","7","(128, 1, 1)","{grid}","0","9.0","{read_mb}","{write_kb}","80","{us}","10"'


@pytest.fixture
def ncu_csv(tmp_path):
    lines = ["==PROF== Connected to process 1", HEADER, UNITS]
    for step in range(2):  # two profiled steps, four kernels each
        lines += [row(4 * step, "nvjet_tst_64x8_64x16_4x1_v_bz_TNT", "(16, 1, 1)", "600", "16", "250"),
                  row(4 * step + 1, "triton_red_fused_mean_mul_pow_rsqrt_0", "(16, 1, 1)", "0.5", "16", "5"),
                  row(4 * step + 2, "void at::native::index_copy_kernel_impl", "(4, 1, 1)", "0.01", "1", "2"),
                  row(4 * step + 3, "void at_cuda_detail::cub::DeviceRadixSortOnesweepKernel", "(300, 1, 1)", "10", "10,000", "40")]
    lines.append("==PROF== Disconnected from process 1")
    path = tmp_path / "ncu.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


TIMING = {"arch": "qwen2_5_vl_3b", "videos": 2, "group": 8, "rows": 16, "tokens": 256, "frames": 64, "size": 336,
          "prompt_tokens": 4748, "mode": "cuda_graph+compile", "ms_per_token": 0.5, "floor_bytes_per_step": 6e8,
          "weight_bytes": 5.9e8, "hbm_bytes_per_s": 3e12, "floor_ms_per_token": 0.2, "profiled_steps": 2,
          "machine": {"name": "NVIDIA H100 80GB HBM3", "torch": "2.11.0", "transformers": "5.23.0"}}


def test_units_are_scaled_and_kernels_grouped(ncu_csv):
    kernels = decode_profile.read_ncu_csv(ncu_csv)
    assert len(kernels) == 8
    assert kernels[0]["dram__bytes_read.sum"] == pytest.approx(600e6)
    assert kernels[0]["gpu__time_duration.sum"] == pytest.approx(250e3)  # ns
    assert kernels[3]["dram__bytes_write.sum"] == pytest.approx(10e6)  # "10,000" Kbyte
    s = decode_profile.summarize(kernels, TIMING)
    assert s["kernels_per_step"] == 4
    assert s["kernel_ms_per_step"] == pytest.approx(0.297)
    assert s["idle_ms_per_step"] == pytest.approx(0.5 - 0.297)
    assert s["x_floor_kernels"] == pytest.approx(0.297 / 0.2)
    cats = s["categories"]
    assert list(cats)[0] == "matrix products"  # sorted by time
    assert cats["matrix products"]["ms_per_step"] == pytest.approx(0.25)
    assert cats["matrix products"]["tb_per_s"] == pytest.approx(600.016e6 / 250e3 / 1e3)
    assert cats["sampling"]["ms_per_step"] == pytest.approx(0.04)
    assert cats["cache writes"]["kernels_per_step"] == 1
    assert cats["fused math (Triton)"]["share"] == pytest.approx(0.005 / 0.297)
    assert sum(c["share"] for c in cats.values()) == pytest.approx(1.0)
    assert "| matrix products | 1 | 0.25 | 84% |" in decode_profile.markdown(s, "cmd")


def test_unknown_unit_and_empty_output_are_one_line_errors(tmp_path, ncu_csv):
    bad = tmp_path / "bad.csv"
    bad.write_text(ncu_csv.read_text().replace('"usecond"', '"fortnight"'))
    with pytest.raises(SystemExit, match="unknown unit 'fortnight' of gpu__time_duration.sum"):
        decode_profile.read_ncu_csv(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("==PROF== No kernels were profiled.\n")
    with pytest.raises(SystemExit, match="no CSV rows"):
        decode_profile.read_ncu_csv(empty)


def test_run_and_summarize_on_a_toy_model(tmp_path, ncu_csv):
    assert decode_profile.main(["run", "--arch", "tiny_qwen2_5_vl", "--frames", "4", "--size", "56", "--tokens", "6",
                                "--repeats", "1", "--profiled_steps", "2", "--out", str(tmp_path)]) == 0
    timing = json.loads((tmp_path / "decode_timing.json").read_text())
    assert timing["rows"] == 16 and timing["mode"] == "eager" and timing["ms_per_token"] > 0
    timing.update(hbm_bytes_per_s=3e12, floor_ms_per_token=0.2)  # a CPU measures no bandwidth
    (tmp_path / "decode_timing.json").write_text(json.dumps(timing))
    assert decode_profile.main(["summarize", str(ncu_csv), "--timing", str(tmp_path / "decode_timing.json"),
                                "--out", str(tmp_path), "--label", "test"]) == 0
    (md,) = tmp_path.glob("*-decode-profile-test.md")
    assert "sum of kernel durations (ncu) | 0.30 |" in md.read_text()
