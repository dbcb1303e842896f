"""A run's whole life from the command line: interrupted with Ctrl-C, resumed, sampled, evaluated; and MLflow's
environment variables. Every wait is bounded and waits for a file, never for an amount of time to pass."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import mlflow
import numpy as np
import torch

from conftest import SMALL, assert_one_line_error, gaussgan


def _wait_for(condition, limit_s=240):
    "Poll `condition` until it holds, at most `limit_s` seconds (a bound, not a timing assumption)."
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.2)


def test_ctrl_c_keeps_the_run_and_resume_finishes_it(scratch):
    # Started as from a terminal: SIGINT at its default, whatever this process inherited (a shell's background
    # job, `cmd &`, starts with SIGINT ignored, and so would the run, which would then finish instead).
    training = subprocess.Popen(["gaussgan", "train", "--max-epochs", "500", *SMALL], cwd=scratch,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    last = lambda: list((scratch / "runs").glob("*/artifacts/checkpoints/last.ckpt"))
    try:
        _wait_for(lambda: last() or training.poll() is not None)
        training.send_signal(signal.SIGINT)
        out, err = training.communicate(timeout=120)
    finally:
        training.kill()
    assert training.returncode == 130, err
    (checkpoint,) = last()
    run_id = torch.load(checkpoint, weights_only=True)["gaussgan_run_id"]
    assert f"continue with: gaussgan train --resume {run_id}" in err
    done_epochs = torch.load(checkpoint, weights_only=True)["epoch"] + 1
    resumed = gaussgan("train", "--resume", run_id, "--max-epochs", str(done_epochs + 2), cwd=scratch)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Run {run_id} finished ({done_epochs + 2} epochs)" in resumed.stdout
    client = mlflow.MlflowClient(f"sqlite:///{scratch}/mlflow.db")
    steps = [m.step for m in client.get_metric_history(run_id, "val/KLDivergence")]
    assert len(steps) == len(set(steps)) >= done_epochs + 2  # one entry per epoch, none twice
    assert client.get_run(run_id).info.status == "FINISHED"


def test_sample_and_evaluate_a_run(scratch):
    trained = gaussgan("train", "--max-epochs", "1", *SMALL, cwd=scratch)
    assert trained.returncode == 0, trained.stderr
    run_id = trained.stdout.split()[1]
    for name in ("points.npz", "points.npy", "points.csv"):
        done = gaussgan("sample", run_id, "--n", "300", "--out", name, cwd=scratch)
        assert done.returncode == 0 and f"wrote 300 points of run {run_id}" in done.stdout, done.stderr
    assert np.load(scratch / "points.npz")["points"].shape == (300, 2)
    np.save(scratch / "real.npy", np.random.default_rng(1).normal([5, 5], 1, (400, 2)))
    by_run = gaussgan("evaluate", run_id, "--checkpoint", "best", cwd=scratch)
    by_file = gaussgan("evaluate", "points.csv", "--data-file", "real.npy", cwd=scratch)
    for done in (by_run, by_file): assert done.returncode == 0, done.stderr
    assert "the two_gaussians target" in by_run.stdout and "LogLikelihood" in by_run.stdout
    assert "Mode coverage of 2000 samples" in by_run.stdout
    assert "400 held-out points of real.npy (no density: LogLikelihood, HighQuality not available)" in by_file.stdout
    assert not any(line.split()[0] == "LogLikelihood" for line in by_file.stdout.splitlines()[1:])
    bad = gaussgan("sample", run_id, "--out", "points.txt", cwd=scratch)
    assert bad.returncode == 2 and bad.stderr.startswith("gaussgan: error: --out points.txt: unsupported")


def test_refined_sampling_from_the_command_line(scratch):
    "--refine: the critic-chosen points written or scored beside the plain generator's, with what they cost."
    trained = gaussgan("train", "--max-epochs", "1", *SMALL, cwd=scratch)
    assert trained.returncode == 0, trained.stderr
    run_id = trained.stdout.split()[1]
    refined = gaussgan("sample", run_id, "--n", "200", "--refine", "mh", "--chain-steps", "10", "--out", "refined.npy",
                       cwd=scratch)
    assert refined.returncode == 0 and "refined by mh: acceptance" in refined.stdout, refined.stderr
    assert np.load(scratch / "refined.npy").shape == (200, 2)
    both = gaussgan("evaluate", run_id, "--n", "300", "--refine", "mh", "--chain-steps", "10", cwd=scratch)
    assert both.returncode == 0, both.stderr
    assert "300 points against" in both.stdout and "300 points refined by mh against" in both.stdout
    # One epoch of eight steps: real and generated points lie apart, the calibrated ratio is steep, and rejection
    # sampling keeps far fewer than one proposal in a thousand (about 1e-5): it says so and stops.
    rejecting = gaussgan("evaluate", run_id, "--refine", "drs", cwd=scratch)
    assert_one_line_error(rejecting.returncode, rejecting.stdout, rejecting.stderr,
                          "the critic rejects nearly everything", expected_status=1)
    shifted = gaussgan("evaluate", run_id, "--n", "300", "--refine", "drs", "--drs-gamma", "0.95", cwd=scratch)
    assert shifted.returncode == 0 and "300 points refined by drs against" in shifted.stdout, shifted.stderr
    np.save(scratch / "points.npy", np.zeros((10, 2)))
    no_critic = gaussgan("evaluate", "points.npy", "--refine", "drs", cwd=scratch)
    assert_one_line_error(no_critic.returncode, no_critic.stdout, no_critic.stderr, "--refine needs a run")


def test_a_critic_told_the_pieces_trains_samples_refines_and_loads(scratch):
    "The mixture-latent recipe from the command line: trained, sampled, refined and loaded by Lightning's call."
    trained = gaussgan("train", "--max-epochs", "1", "--generator-type", "direct", "--no-generator-batch-norm",
                       "--latent-components", "2", "--latent-init", "clusters", "--conditional-critic", *SMALL,
                       cwd=scratch)
    assert trained.returncode == 0, trained.stderr
    run_id = trained.stdout.split()[1]
    refined = gaussgan("sample", run_id, "--n", "200", "--refine", "mh", "--chain-steps", "10", "--out", "refined.npy",
                       cwd=scratch)
    assert refined.returncode == 0 and "refined by mh: acceptance" in refined.stdout, refined.stderr
    from gaussgan.checkpoints import find_checkpoint, load_model
    from gaussgan.model import GaussGan
    checkpoint = find_checkpoint(run_id, scratch / "runs")
    loaded = GaussGan.load_from_checkpoint(checkpoint)
    assert loaded.critic.pieces.centres.shape == (2, 2) and loaded.critic.pieces.centres.abs().sum() > 0
    torch.manual_seed(0); ours = loaded.sample(50)
    torch.manual_seed(0); theirs = load_model(checkpoint).sample(50)
    assert torch.equal(ours, theirs)
    refused = gaussgan("train", "--max-epochs", "1", "--conditional-critic", *SMALL, cwd=scratch)
    assert_one_line_error(refused.returncode, refused.stdout, refused.stderr,
                          "conditional_critic trains by the closed-form step on the fitted pieces")


def test_mlflow_environment_variables_are_honoured(scratch):
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{scratch}/elsewhere.db", "MLFLOW_EXPERIMENT_NAME": "shared"}
    done = subprocess.run(["gaussgan", "train", "--max-epochs", "1", *SMALL, "--run-name", "first", "--tag", "who=ci"],
                          cwd=scratch, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not (scratch / "mlflow.db").exists()
    client = mlflow.MlflowClient(env["MLFLOW_TRACKING_URI"])
    (run,) = client.search_runs([client.get_experiment_by_name("shared").experiment_id])
    assert run.info.run_name == "first" and run.data.tags["who"] == "ci"


def test_help_answers_without_importing_torch():
    code = "import sys; from gaussgan.cli import make_parser; make_parser(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer: return answer.status == 200
    except OSError: return False


def test_a_model_loads_from_a_tracking_server(scratch, monkeypatch):
    "load_model from a runs:/ URI and from a bare run id, served by `mlflow server`; no local run folder needed."
    from gaussgan.checkpoints import load_model
    from gaussgan.config import Config
    from gaussgan.train import train
    url = f"http://127.0.0.1:{_free_port()}"
    server = subprocess.Popen(["mlflow", "server", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1],
                               "--backend-store-uri", f"sqlite:///{scratch}/server.db", "--artifacts-destination",
                               str(scratch / "served"), "--workers", "1"], cwd=scratch,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _healthy(url) or server.poll() is not None)
        assert server.poll() is None, "mlflow server did not start"
        result = train(Config(max_epochs=1, generator_widths=[32, 32], critic_widths=[32, 32], dataset_size=2000,
                              progress_bar=False, threads="1", tracking_uri=url, output_dir=str(scratch / "trained")))
        torch.manual_seed(0); expected = result.model.sample(4)
        from mlflow import MlflowClient
        experiment = MlflowClient(url).get_run(result.run_id).info.experiment_id  # the notebook view links its page
        assert f"href='{url}/#/experiments/{experiment}/runs/{result.run_id}'" in result._repr_html_()
        elsewhere = scratch / "elsewhere"; elsewhere.mkdir(); monkeypatch.chdir(elsewhere)
        for run in (f"runs:/{result.run_id}/checkpoints/last.ckpt", f"runs:/{result.run_id}", result.run_id):
            model = load_model(run, tracking_uri=url)
            torch.manual_seed(0); assert torch.equal(model.sample(4), expected), run
        env = {**os.environ, "MLFLOW_TRACKING_URI": url}
        sampled = subprocess.run(["gaussgan", "sample", f"runs:/{result.run_id}", "--n", "50", "--out", "p.npy"],
                                 cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
        assert sampled.returncode == 0 and np.load(elsewhere / "p.npy").shape == (50, 2), sampled.stderr
    finally:
        server.terminate(); server.wait(timeout=60)


def test_a_killer_runs_best_checkpoint_keeps_the_right_mode(scratch):
    "With the killer on, early stopping and best.ckpt follow KeptKLDivergence, the distance to the mode at x > 0."
    from gaussgan.checkpoints import load_model
    from gaussgan.config import Config
    from gaussgan.train import train
    result = train(Config(killer=True, max_epochs=30, progress_bar=False, threads="1", output_dir=str(scratch / "runs"),
                          tracking_uri=f"sqlite:///{scratch}/mlflow.db"))
    assert "KeptKLDivergence" in result.best and result.best_checkpoint.name == "best.ckpt"
    model = load_model(result.best_checkpoint)
    model.reseed(0)
    points = model.sample(5000)
    assert (points[:, 0] > 0).float().mean() >= 0.99
    assert ((points - torch.tensor([5.0, 5.0])).norm(dim=1) <= 3.0).float().mean() >= 0.90


def test_lightnings_load_from_checkpoint_needs_nothing_else_imported(scratch):
    """GaussGan.load_from_checkpoint and SeedEnsemble.load_from_checkpoint in a fresh interpreter, gaussgan.checkpoints
    and gaussgan.build never imported: the same weights and samples as load_model."""
    from gaussgan.checkpoints import load_model
    from gaussgan.config import Config
    from gaussgan.train import train
    small = dict(max_epochs=1, generator_widths=[16], critic_widths=[16], dataset_size=500, progress_bar=False,
                 threads="1", generator_ema=0.9, n_critic=3, output_dir=str(scratch / "runs"))
    one, ensemble = train(Config(**small)), train(Config(**small, seeds=2))
    expected = []
    for run in (one, ensemble):
        model = load_model(run.checkpoint)
        torch.manual_seed(0); expected.append(model.sample(4))
    code = ("import sys, torch\nfrom gaussgan.model import GaussGan\nfrom gaussgan.ensemble import SeedEnsemble\n"
            f"one = GaussGan.load_from_checkpoint({str(one.checkpoint)!r})\n"
            f"ensemble = SeedEnsemble.load_from_checkpoint({str(ensemble.checkpoint)!r})\n"
            "assert not {'gaussgan.checkpoints', 'gaussgan.build'} & set(sys.modules)\n"
            "assert (one.n_critic, one.averaged_generator is not None, ensemble.seeds) == (3, True, [41, 42])\n"
            "torch.manual_seed(0); a = one.sample(4); torch.manual_seed(0); b = ensemble.sample(4)\n"
            "torch.save([a, b], 'sampled.pt')\n")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=scratch, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    for mine, theirs in zip(torch.load(scratch / "sampled.pt"), expected): assert torch.equal(mine, theirs)


def test_a_logged_model_loads_with_mlflow_and_with_gaussgan(scratch, monkeypatch):
    """log_model: the run's model is an MLflow model; mlflow.pytorch.load_model, load_model and `gaussgan sample` take
    its models:/ URI and sample what the run's last checkpoint samples."""
    import mlflow.pytorch
    from gaussgan.checkpoints import load_model
    from gaussgan.config import Config
    from gaussgan.results import format_summary
    from gaussgan.train import train
    store, before = f"sqlite:///{scratch}/mlflow.db", os.environ.get("MLFLOW_TRACKING_URI")
    result = train(Config(max_epochs=1, generator_widths=[16], critic_widths=[16], dataset_size=500, log_model=True,
                          progress_bar=False, threads="1", tracking_uri=store, output_dir=str(scratch / "runs")))
    assert os.environ.get("MLFLOW_TRACKING_URI") == before  # the run's store is not every later process's default
    assert result.model_uri.startswith("models:/") and result.model_uri in format_summary(result)
    torch.manual_seed(0); expected = load_model(result.checkpoint).sample(4)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # mlflow.pytorch reads the default store; put back after
    mlflow.set_tracking_uri(store)
    for model in (mlflow.pytorch.load_model(result.model_uri), load_model(result.model_uri, tracking_uri=store)):
        torch.manual_seed(0); assert torch.equal(model.sample(4), expected)
    sampled = subprocess.run(["gaussgan", "sample", result.model_uri, "--n", "50", "--out", "p.npy"], cwd=scratch,
                             capture_output=True, text=True, timeout=300)
    assert sampled.returncode == 0 and np.load(scratch / "p.npy").shape == (50, 2), sampled.stderr
