"""One memory verdict: the same estimate against the same (cgroup-aware) memory, in the same words everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rmlp.cli import app
from rmlp.design import memory
from rmlp.design.summary import FRAMEWORK_OVERHEAD_BYTES, summarize
from rmlp.runs import limits
from rmlp.spec.model import BlockSpec, ModelSpec


def huge_spec() -> ModelSpec:
    """About 1 TiB of estimated training memory."""
    return ModelSpec(blocks=[BlockSpec(layers=20, width=8192, decrement=0)] * 48, final_layers=[8])


def test_available_memory_counts_a_containers_cgroup_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "max").write_text("1073741824\n")  # a 1 GiB container
    (tmp_path / "current").write_text("268435456\n")  # 256 MiB of it used
    monkeypatch.setattr(memory, "CGROUP_LIMITS", ((str(tmp_path / "max"), str(tmp_path / "current")),))
    assert memory.available_memory_bytes() <= 768 * 2**20
    assert memory.memory_limit_bytes() <= 2**30
    (tmp_path / "max").write_text("max\n")  # cgroup v2 without a limit: the machine's free memory
    assert memory.available_memory_bytes() > 0
    assert memory.memory_limit_bytes() == memory.machine_memory_bytes()


@pytest.mark.parametrize(("share", "level"), [(0.3, "ok"), (0.7, "warning"), (1.5, "error")])
def test_the_verdict_has_three_levels_and_one_wording(share: float, level: str) -> None:
    spec = ModelSpec()
    peak = summarize(spec, 32).peak_training_bytes
    verdict = memory.memory_verdict(spec, 32, available=int(peak / share))
    assert verdict is not None and verdict.level == level and verdict.fits == (level != "error")
    assert verdict.words().startswith("The design needs about ")
    assert "at batch size 32" in verdict.words()
    assert (verdict.words() == verdict.message()) == (level == "error")


def test_training_memory_is_the_designs_own_part_everywhere() -> None:
    figures = summarize(ModelSpec(), 32)
    assert memory.design_bytes(figures) == figures.design_training_bytes
    assert figures.design_training_bytes == figures.peak_training_bytes - FRAMEWORK_OVERHEAD_BYTES
    label, value = figures.rows()[-1]
    assert label.startswith("Training memory") and "peak about" in value


def test_training_refuses_on_the_same_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    verdict = memory.memory_verdict(huge_spec(), 32, available=2**30)
    assert verdict is not None and not verdict.fits
    with pytest.raises(limits.TooBigForMemory) as raised:
        limits.check_memory(huge_spec(), 32, available=2**30)
    assert str(raised.value).startswith(verdict.message())


def test_summary_and_validate_say_the_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.json"
    path.write_text(huge_spec().to_json())
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 2**30)
    runner = CliRunner()
    summary = runner.invoke(app, ["summary", str(path)])
    assert summary.exit_code == 0
    assert "Warning: The design needs about" in summary.output and "but only 1.0 GiB is available" in summary.output
    checked = runner.invoke(app, ["validate", str(path)])
    assert "but only 1.0 GiB is available" in checked.output
    small = tmp_path / "small.json"
    small.write_text(ModelSpec().to_json())
    fine = runner.invoke(app, ["summary", str(small)])
    assert "Memory: The design needs about" in fine.output
