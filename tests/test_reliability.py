"""What a run survives and what it keeps: kills mid-epoch and mid-write, divergence, two runs at once in one
folder, and reruns with the same seed. Faults are placed with hooks (tests/faulty_train.py), never with timers."""
import math
import re
import signal
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch

from gaussgan.config import Config
from gaussgan.saving import read_checkpoint
from gaussgan.train import train
from conftest import SMALL, gaussgan

RUN = [*SMALL, "--max-epochs", "5", "--threads", "1", "--log-every-n-steps", "3"]


def faulty(fault, *numbers, options, cwd):
    return subprocess.run([sys.executable, str(Path(__file__).parent / "faulty_train.py"), fault,
                           *map(str, numbers), "--", *options], cwd=cwd, capture_output=True, text=True, timeout=300)


def client_of(folder: Path) -> mlflow.MlflowClient:
    return mlflow.MlflowClient(f"sqlite:///{folder}/mlflow.db")


def test_a_run_killed_mid_write_and_mid_epoch_resumes_to_the_end_logging_each_epoch_once(scratch):
    first = faulty("kill-writing-checkpoint", 1, options=RUN, cwd=scratch)
    assert first.returncode == -signal.SIGKILL, first.stderr
    (folder,) = (scratch / "runs").glob("*/artifacts")
    run_id, checkpoints = folder.parent.name, folder / "checkpoints"
    assert list(checkpoints.glob(".last.ckpt.*"))                      # the half-written file the kill left
    assert read_checkpoint(checkpoints / "last.ckpt")["epoch"] == 0    # and the previous checkpoint, whole

    second = faulty("kill-mid-epoch", 3, 2, options=["--resume", run_id], cwd=scratch)
    assert second.returncode == -signal.SIGKILL, second.stderr
    assert read_checkpoint(checkpoints / "last.ckpt")["epoch"] == 2

    done = gaussgan("train", "--resume", run_id, cwd=scratch)
    assert done.returncode == 0, done.stderr
    assert f"Run {run_id} finished (5 epochs)" in done.stdout
    assert not list(checkpoints.glob(".*"))                            # no partial file is left behind
    for path in checkpoints.glob("*.ckpt"): read_checkpoint(path)      # every checkpoint loads
    client = client_of(scratch)
    assert client.get_run(run_id).info.status == "FINISHED"
    for key in ("val/KLDivergence", "train/critic_wasserstein", "best/KLDivergence"):
        steps = [m.step for m in client.get_metric_history(run_id, key)]
        assert len(steps) == len(set(steps)) == 5, (key, steps)       # one entry per epoch, none twice
    steps = [m.step for m in client.get_metric_history(run_id, "train/critic_wasserstein_step")]
    assert len(steps) == len(set(steps)) and steps == sorted(steps)    # step losses too: each logged once

    (scratch / "whole").mkdir()
    whole = gaussgan("train", *RUN, cwd=scratch / "whole")  # the same run, never interrupted
    assert whole.returncode == 0, whole.stderr
    (whole_folder,) = (scratch / "whole" / "runs").glob("*/artifacts")
    np.testing.assert_array_equal(np.load(folder / "samples.npz")["points"],
                                  np.load(whole_folder / "samples.npz")["points"])


def test_divergence_stops_at_once_keeps_the_last_good_checkpoint_and_fails_the_mlflow_run(scratch):
    done = faulty("poison-critic", 2, 3, options=RUN, cwd=scratch)
    assert done.returncode == 1 and done.stdout == ""  # a failure at run time: 1, not a usage error's 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert re.match(r"gaussgan: error: training diverged at epoch 2, step \d+: train/critic_wasserstein is nan; "
                    r"its last good checkpoint, .*last\.ckpt \(epoch 1\), is kept; MLflow run \w+ is marked FAILED",
                    done.stderr), done.stderr
    (folder,) = (scratch / "runs").glob("*/artifacts")
    assert read_checkpoint(folder / "checkpoints" / "last.ckpt")["epoch"] == 1
    client = client_of(scratch)
    run = client.get_run(folder.parent.name)
    assert run.info.status == "FAILED"
    assert len(client.get_metric_history(run.info.run_id, "val/KLDivergence")) == 2  # epochs 0 and 1, not the third
    for key in run.data.metrics:                                       # never an epoch of NaN metrics
        assert all(math.isfinite(m.value) for m in client.get_metric_history(run.info.run_id, key)), key


def test_a_learning_rate_that_diverges_ends_in_one_line(scratch):
    done = gaussgan("train", "--learning-rate", "1e8", "--max-epochs", "3", *SMALL, cwd=scratch)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("gaussgan: error: training diverged at epoch 0, step 0: train/")
    assert "no checkpoint was kept" in done.stderr and "learning_rate 1e+08" in done.stderr
    (run,) = client_of(scratch).search_runs(["1"])
    assert run.info.status == "FAILED"


def test_two_runs_started_together_in_one_folder_both_finish_and_are_logged_completely(scratch):
    runs = [subprocess.Popen(["gaussgan", "train", *SMALL, "--max-epochs", "2", "--threads", "1",
                              "--log-every-n-steps", "2"], cwd=scratch, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for process in runs:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    client = client_of(scratch)
    found = client.search_runs([client.get_experiment_by_name("gaussgan").experiment_id])
    assert len(found) == 2 and all(r.info.status == "FINISHED" for r in found)
    for run in found:
        assert len(client.get_metric_history(run.info.run_id, "val/KLDivergence")) == 2
        assert run.data.params["max_epochs"] == "2" and "final/within_3" in run.data.metrics
        assert {"checkpoints", "plots", "samples.npz"} <= {a.path for a in client.list_artifacts(run.info.run_id)}


@pytest.mark.parametrize("generator,threads", [("classical_normal", "1"), ("classical_normal", "2"),
                                               ("quantum_samples", "1")])
def test_the_same_config_and_seed_give_the_same_bits(scratch, generator, threads):
    def run(name):
        config = Config(generator_type=generator, threads=threads, max_epochs=2, dataset_size=2000,
                        generator_widths=[32, 32], critic_widths=[32, 32], quantum_qubits=4, progress_bar=False,
                        output_dir=f"{scratch}/{name}", tracking_uri=f"sqlite:///{scratch}/mlflow.db")
        return train(config)
    first, second = run("first"), run("second")
    np.testing.assert_array_equal(first.samples, second.samples)
    assert first.history == second.history  # every loss and metric of every epoch, exactly
    assert torch.equal(torch.cat([p.flatten() for p in first.model.parameters()]),
                       torch.cat([p.flatten() for p in second.model.parameters()]))


def test_two_ddp_processes_end_with_the_same_weights_in_one_run(scratch):
    done = faulty("record-weights", options=[*SMALL, "--max-epochs", "2", "--threads", "1", "--strategy", "ddp",
                                             "--devices", "2", "--accelerator", "cpu"], cwd=scratch)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("finished (2 epochs)") == 1                 # one summary, from the first process
    ranks = [torch.load(scratch / f"weights_rank{r}.pt") for r in (0, 1)]
    assert ranks[0].keys() == ranks[1].keys()
    for key, value in ranks[0].items(): assert torch.equal(value, ranks[1][key]), key  # gradients were averaged
    (run,) = client_of(scratch).search_runs(["1"])                      # one MLflow run
    assert run.info.status == "FINISHED"
    (folder,) = (scratch / "runs").iterdir()                             # one run folder, its checkpoints once
    assert sorted(p.name for p in (folder / "artifacts" / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
