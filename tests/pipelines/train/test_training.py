"""The generic training loop: learning, metrics, exact resume, config validation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

import models
from pipelines.tasks.task import Task
from pipelines.train.config import TrainConfig
from pipelines.train.loop import fit


class GPSampler:
    """1-D GP draws (EQ kernel, length-scale 0.5, noise 0.05) with a varying context size."""

    def sample(self, batch_size: int, generator: torch.Generator) -> Task:
        n_c, n_t = 12, 24
        x = 4 * torch.rand(batch_size, n_c + n_t, 1, generator=generator) - 2
        d = x - x.transpose(1, 2)
        k = torch.exp(-0.5 * (d / 0.5) ** 2) + 1e-4 * torch.eye(n_c + n_t)
        f = torch.linalg.cholesky(k) @ torch.randn(batch_size, n_c + n_t, 1, generator=generator)
        y = f + 0.05 * torch.randn(f.shape, generator=generator)
        nc = int(torch.randint(2, n_c + 1, (1,), generator=generator))
        mask_c = (torch.arange(n_c) < nc).float().expand(batch_size, n_c)
        return Task(x[:, :n_c], y[:, :n_c], x[:, n_c:], y[:, n_c:], mask_c=mask_c)


def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return models.build_model(
        "aeconvcnp",
        dim_x=1,
        domain=[[-2.0, 2.0]],
        points_per_unit=8.0,
        unet_channels=[8, 8],
        kernel_size=3,
        head_width=16,
        fixed_channels=1,
    )


def val_tasks() -> list[Task]:
    gen = torch.Generator().manual_seed(99)
    return [GPSampler().sample(8, gen) for _ in range(2)]


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_fit_learns_and_writes_metrics(tmp_path: Path) -> None:
    model = small_model()
    cfg = TrainConfig(steps=60, batch_size=8, lr=3e-3, val_every=20, log_every=10, seed=1)
    result = fit(model, GPSampler(), val_tasks(), cfg, tmp_path, progress=False)
    recs = records(tmp_path)
    vals = [r for r in recs if r["event"] == "val"]
    train = [r for r in recs if r["event"] == "train"]
    assert [r["step"] for r in vals] == [20, 40, 60]
    assert [r["step"] for r in train] == [10, 20, 30, 40, 50, 60]
    assert all(r["tasks_per_s"] > 0 and math.isfinite(r["loss"]) for r in train)
    assert result.steps == 60 and result.resumed_from == 0
    assert result.best_val_nll == min(r["val_nll"] for r in vals)
    assert vals[-1]["val_nll"] < vals[0]["val_nll"] + 0.5
    assert train[-1]["loss"] < train[0]["loss"]
    # the best weights are what the model holds at the end
    from pipelines.train.loop import evaluate_nll

    assert evaluate_nll(model, val_tasks()) == pytest.approx(result.best_val_nll, rel=1e-5)


def test_resume_is_exact(tmp_path: Path) -> None:
    cfg = TrainConfig(
        steps=12, batch_size=4, val_every=4, checkpoint_every=4, seed=3, schedule="constant"
    )
    straight = small_model()
    fit(straight, GPSampler(), val_tasks(), cfg, tmp_path / "a", progress=False)

    first = small_model()
    fit(
        first,
        GPSampler(),
        val_tasks(),
        cfg.model_copy(update={"steps": 8}),
        tmp_path / "b",
        progress=False,
    )
    resumed = small_model()
    result = fit(resumed, GPSampler(), val_tasks(), cfg, tmp_path / "b", progress=False)
    assert result.resumed_from == 8 and result.steps == 12
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=k)
    events = [r["event"] for r in records(tmp_path / "b")]
    assert events.count("resume") == 1
    # a finished run returns at once, with the same best weights
    again = small_model()
    assert fit(again, GPSampler(), val_tasks(), cfg, tmp_path / "b", progress=False).steps == 12
    torch.testing.assert_close(again.state_dict(), resumed.state_dict())


def test_early_stopping(tmp_path: Path) -> None:
    cfg = TrainConfig(steps=1000, batch_size=2, lr=1e-9, val_every=1, patience=2)
    result = fit(small_model(), GPSampler(), val_tasks(), cfg, tmp_path, progress=False)
    assert result.stopped_early and result.steps < 10


def test_config_rejects_unknown_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="stepz"):
        TrainConfig.model_validate({"stepz": 3})
    with pytest.raises(ValidationError):
        TrainConfig(steps=0)
    with pytest.raises(ValidationError):
        TrainConfig.model_validate({"lr": "fast"})


DDP_SCRIPT = """
import json, sys
from pathlib import Path
import torch
from torch import distributed as dist
from pipelines.train.config import TrainConfig
from pipelines.train.distributed import shutdown_distributed
from pipelines.train.loop import fit
from tests.pipelines.train.test_training import GPSampler, small_model, val_tasks

run = Path(sys.argv[1])
model = small_model()
cfg = TrainConfig(steps=int(sys.argv[2]), batch_size=2, val_every=2, checkpoint_every=2, threads=1)
result = fit(model, GPSampler(), val_tasks(), cfg, run, progress=False)
flat = torch.cat([p.detach().flatten() for p in model.parameters()])
gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
dist.all_gather(gathered, flat)
if dist.get_rank() == 0:
    same = all(torch.equal(g, gathered[0]) for g in gathered)
    (run / f"result_{result.steps}.json").write_text(json.dumps({"same": same}))
shutdown_distributed()
"""


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("torchrun") is None:
        pytest.skip("torchrun not on PATH")
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    repo = Path(__file__).resolve().parents[3]
    env = {**__import__("os").environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"}
    for steps in (4, 6):  # the second run resumes the first under DDP
        cmd = ["torchrun", "--standalone", "--nproc_per_node=2", str(script), str(tmp_path / "r")]
        done = subprocess.run(
            [*cmd, str(steps)], env=env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads((tmp_path / "r" / f"result_{steps}.json").read_text())["same"]
    recs = records(tmp_path / "r")
    assert [r["step"] for r in recs if r["event"] == "val"] == [2, 4, 6]  # rank 0 only
    assert [r["step"] for r in recs if r["event"] == "resume"] == [4]


def test_corrupt_newest_state_falls_back_to_the_previous(tmp_path: Path) -> None:
    """A corrupt newest snapshot resumes from the one before it; with every snapshot
    corrupt, one line naming the directory (a ValueError: exit 2 in the CLI)."""
    from pipelines.train.state import TrainingStateError

    cfg = TrainConfig(steps=12, batch_size=4, val_every=4, checkpoint_every=4, seed=3)
    fit(
        small_model(),
        GPSampler(),
        val_tasks(),
        cfg.model_copy(update={"steps": 8}),
        tmp_path,
        progress=False,
    )
    state = tmp_path / "state"
    assert (state / "state.json").is_file() and (state / "state.prev.json").is_file()
    newest = json.loads((state / "state.json").read_text())["tensors"]
    (state / newest).write_bytes(b"not safetensors")
    with pytest.warns(UserWarning, match="newest training state unreadable .*previous"):
        result = fit(small_model(), GPSampler(), val_tasks(), cfg, tmp_path, progress=False)
    assert result.resumed_from == 4 and result.steps == 12
    for f in state.glob("*.safetensors"):
        f.write_bytes(b"garbage")
    (state / "state.json").write_text("[]")
    with pytest.raises(TrainingStateError) as e, pytest.warns(UserWarning):
        fit(
            small_model(),
            GPSampler(),
            val_tasks(),
            cfg.model_copy(update={"steps": 20}),
            tmp_path,
            progress=False,
        )
    assert "\n" not in str(e.value) and str(state) in str(e.value)
