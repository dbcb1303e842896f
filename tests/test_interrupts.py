"""A Ctrl-C always stops a run, keeps it resumable and exits 130, wherever it lands: at start-up, in an MLflow call,
in validation, while a checkpoint is written (the last one too) and while the finished run is written up. Each
SIGINT is placed by a hook (tests/faulty_train.py), never by a timer, so the tests do not depend on machine speed."""
import signal
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from conftest import SMALL, gaussgan

RUN = [*SMALL, "--max-epochs", "3", "--threads", "1", "--log-every-n-steps", "3"]


def interrupted_at(point, cwd):
    "`gaussgan train` with a SIGINT at `point`, started as from a terminal (SIGINT at its default action)."
    return subprocess.run([sys.executable, str(Path(__file__).parent / "faulty_train.py"), "interrupt-at", point,
                           "--", *RUN], cwd=cwd, capture_output=True, text=True, timeout=300,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize("point", ["start-up", "mlflow-call", "validation", "checkpoint-write",
                                   "last-checkpoint-write", "end-of-run"])
def test_a_ctrl_c_anywhere_exits_130_and_the_run_resumes_to_its_end(scratch, point):
    stop = interrupted_at(point, cwd=scratch)
    assert stop.returncode == 130, stop.stdout[-1500:] + stop.stderr[-3000:]
    assert "Traceback" not in stop.stderr and stop.stderr.count("\n") == 1, stop.stderr
    assert stop.stderr.startswith("gaussgan: interrupted"), stop.stderr
    client = mlflow.MlflowClient(f"sqlite:///{scratch}/mlflow.db")
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.status == "KILLED"  # not left RUNNING, not marked FINISHED
    if point == "start-up":  # before the first checkpoint: nothing to resume, and the line says so
        assert "start it again" in stop.stderr
        return
    assert f"continue with: gaussgan train --resume {run.info.run_id}" in stop.stderr
    resumed = gaussgan("train", "--resume", run.info.run_id, cwd=scratch)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Run {run.info.run_id} finished (3 epochs)" in resumed.stdout
    assert client.get_run(run.info.run_id).info.status == "FINISHED"
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "val/KLDivergence")]
    assert sorted(steps) == sorted(set(steps)) and len(steps) == 3  # every epoch logged once
