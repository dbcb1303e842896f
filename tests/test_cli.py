"""The `gaussgan` command as a user runs it: a short real training run, and the bad-input table."""
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import SMALL, assert_one_line_error, gaussgan


def test_train_writes_a_complete_run(scratch):
    done = gaussgan("train", "--max-epochs", "2", *SMALL, cwd=scratch)
    assert done.returncode == 0, done.stderr
    (run_id,) = [p.name for p in (scratch / "runs").iterdir()]
    run = scratch / "runs" / run_id / "artifacts"  # the run folder is the run's MLflow artifact folder
    for rel in ("checkpoints/last.ckpt", "checkpoints/best.ckpt", "samples.npz", "config.yaml", "summary.json",
                "plots/samples.png", "plots/history.png"):
        assert (run / rel).is_file(), rel
        assert str(run / rel) in done.stdout or rel in ("config.yaml", "summary.json")
    import mlflow
    client = mlflow.MlflowClient(f"sqlite:///{scratch}/mlflow.db")
    listed = {a.path for a in client.list_artifacts(run_id)}
    assert {"checkpoints", "plots", "samples.npz"} <= listed  # MLflow sees the files where they were written
    assert not list(scratch.rglob("mlartifacts")) and len(list(scratch.rglob("last.ckpt"))) == 1  # each stored once
    assert (scratch / "mlflow.db").is_file()
    assert "KLDivergence" in done.stdout and "within 3σ of a mode" in done.stdout
    assert np.load(run / "samples.npz")["points"].shape == (2000, 2)


def test_train_with_killer_and_a_csv_file(scratch):
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal([-5, 5], 1, (1000, 2)), rng.normal([5, 5], 1, (1000, 2))])
    np.savetxt(scratch / "points.csv", points, delimiter=",", header="x,y", comments="")
    done = gaussgan("train", "--max-epochs", "1", "--killer", "--data-file", "points.csv", *SMALL, cwd=scratch)
    assert done.returncode == 0, done.stderr
    assert "against 200 held-out points of points.csv (no density: LogLikelihood, HighQuality not available)" in done.stdout
    assert "KLDivergence" in done.stdout and "LogLikelihood" not in done.stdout.split("not available")[1]


def test_train_with_a_preset_and_an_option_beside_it(scratch):
    done = gaussgan("train", "--preset", "ring8", "--max-epochs", "1", "--validation-every", "1", *SMALL, cwd=scratch)
    assert done.returncode == 0, done.stderr
    assert "finished (1 epochs)" in done.stdout and "against the ring target" in done.stdout  # the option won
    assert "HighQuality/modes" in done.stdout and "within 3σ of a mode" in done.stdout
    config = (next((scratch / "runs").glob("*/artifacts/config.yaml"))).read_text()
    assert "preset: ring8" in config and "generator_batch_norm: false" in config and "max_epochs: 1" in config


def test_train_with_a_quantum_generator(scratch):
    done = gaussgan("train", "--max-epochs", "1", "--generator-type", "quantum_shadows", "--quantum-qubits", "4", *SMALL, cwd=scratch)
    assert done.returncode == 0, done.stderr
    assert "KLDivergence" in done.stdout


def test_train_profile_writes_a_chrome_trace(scratch):
    import json
    done = gaussgan("train", "--max-epochs", "1", "--profile", *SMALL, cwd=scratch)
    assert done.returncode == 0, done.stderr
    (trace,) = (scratch / "runs").glob("*/artifacts/profile/*.pt.trace.json")
    assert str(trace.relative_to(scratch)) in done.stdout  # the summary says where
    events = {e.get("name") for e in json.loads(trace.read_text())["traceEvents"]}
    assert {"gaussgan.critic_updates", "gaussgan.generator_update"} <= events


def test_bench_prints_every_table(scratch):
    done = gaussgan("bench", "--steps", "1", "--warmup", "1", "--run-epochs", "1", "--skip-options", "--dataset-size", "2000", cwd=scratch)
    assert done.returncode == 0, done.stderr
    for heading in ("machine: ", "where a step goes", "time per training step", "the earlier system beside ours",
                    "against the bare loop", "where the run's time went", "peak memory: cpu_rss_peak_mib",
                    "a one-epoch run, start to summary"):
        assert heading in done.stdout, heading
    from gaussgan.nets import generator_types
    assert all(kind in done.stdout for kind in generator_types())
    assert not (scratch / "runs").exists() and not (scratch / "mlflow.db").exists()  # the timed run leaves nothing behind


def test_bench_rejects_a_bad_step_count(scratch):
    done = gaussgan("bench", "--steps", "0", cwd=scratch)
    assert_one_line_error(done.returncode, done.stdout, done.stderr, "argument --steps: expected a positive integer, got '0'")


def _write_bad_files(folder: Path):
    pts = np.random.default_rng(0).normal(size=(100, 2))
    with_nan = pts.copy(); with_nan[3, 0] = np.nan
    np.save(folder / "nan.npy", with_nan)
    np.save(folder / "three_columns.npy", np.zeros((100, 3)))
    (folder / "malformed.csv").write_text("x,y\n1,2\n3,oops\n")
    (folder / "broken.npz").write_bytes(b"this is not a zip archive")
    (folder / "legacy.pickle").write_bytes(b"\x80\x04K\x01.")
    (folder / "bad.yaml").write_text("max_epochs: [3\n")
    (folder / "typo.yaml").write_text("max_epoch: 3\n")
    (folder / "a_list.yaml").write_text("- max_epochs\n- 3\n")
    (folder / "a_folder.yaml").mkdir()
    (folder / "empty.csv").write_text("x,y\n")
    np.save(folder / "no_rows.npy", np.zeros((0, 2)))
    np.save(folder / "huge.npy", pts * 1e37)
    np.save(folder / "one_point.npy", np.full((100, 2), 3.0))
    np.savetxt(folder / "points.txt", pts)
    (folder / "a_file").write_text("not a folder")


BAD_INPUTS = [
    (["--max-epochs", "0"], "max_epochs must be a positive integer, got 0"),
    (["--seeds", "0"], "seeds must be a positive integer, got 0"),
    (["--preset", "ring9"], "preset 'ring9' is not allowed; allowed: default, ring8, grid25"),
    (["--target", "ring", "--mode-std", "0"], "mode_std must be a positive number or omitted, got 0.0"),
    (["--target", "grid", "--grid-side", "0"], "grid_side must be a positive integer, got 0"),
    (["--seeds", "2", "--strategy", "ddp"], "seeds 2 cannot train with strategy ddp"),
    (["--max-epochs", "ten"], "max_epochs must be an integer, got 'ten'"),
    (["--learning-rate", "-1"], "learning_rate must be a positive number"),
    (["--generator-type", "quantum_magic"], "generator_type 'quantum_magic' is not allowed; allowed: classical_normal"),
    (["--noise", "quantum_magic"], "noise 'quantum_magic' is not allowed; allowed: classical_normal"),
    (["--generator-head", "straight"], "generator_head 'straight' is not allowed; allowed: gaussian, direct"),
    (["--generator-type", "direct", "--noise", "quantum_samples"], "generator_type direct means noise classical_normal"),
    (["--noise", "quantum_samples", "--quantum-device", "default.qubit", "--quantum-sample-shots", "10"],
     "quantum_sample_shots needs quantum_device torch"),
    (["--generator-type", "quantum_shadows", "--quantum-device", "default.qubit"], "quantum_shadows runs on quantum_device torch only"),
    (["--quantum-device", "qiskit.aer"], "quantum_device 'qiskit.aer' is not allowed; allowed: torch, default.qubit"),
    (["--generator-type", "quantum_samples", "--quantum-qubits", "1"], "quantum_qubits must be at least 2"),
    (["--target", "GAUSS"], "target 'GAUSS' is not allowed; allowed: two_gaussians, uniform, mixture"),
    (["--dataset-type", "GAUSS"], "target 'GAUSS' is not allowed; allowed: two_gaussians, uniform, mixture"),
    (["--metrics", "KLDivergence,Accuracy"], "unknown metric 'Accuracy'; allowed: IsPositive"),
    (["--non-linearity", "Swish"], "non_linearity 'Swish' is not allowed"),
    (["--generator-widths", "256,abc"], "generator_widths must be"),
    (["--nn-gen", "256,0"], "generator_widths must be a non-empty list of positive widths, got [256, 0]"),
    (["--validation-samples", "5000"], "validation_samples (5000) must not exceed reference_samples"),
    (["--target", "mixture"], "target mixture needs mixture_means"),
    (["--mmd-bandwidths", "1,-2"], "mmd_bandwidths must be positive numbers"),
    (["--data-file", "missing.npy"], "data file not found: missing.npy"),
    (["--data-file", "nan.npy"], "nan.npy: 1 rows hold NaN or infinite values (first at row 3)"),
    (["--data-file", "three_columns.npy"], "expected (N, 2) 2-D points"),
    (["--data-file", "malformed.csv"], "malformed.csv: not a CSV of numbers"),
    (["--data-file", "broken.npz"], "broken.npz: cannot read .npz file"),
    (["--data-file", "legacy.pickle"], "refusing to unpickle"),
    (["--config", "missing.yaml"], "config file not found: missing.yaml"),
    (["--config", "bad.yaml"], "bad.yaml: not valid YAML (line 2)"),
    (["--config", "typo.yaml"], "unknown key 'max_epoch' (did you mean 'max_epochs'?)"),
    (["--max-epoch", "3"], "unrecognized arguments: --max-epoch (did you mean --max-epochs?) 3 "
                           "(see 'gaussgan train --help')"),
    (["--tracking-uri", "nosuchscheme://x"], "cannot use MLflow tracking URI 'nosuchscheme://x'"),
    (["--precision", "fp8"], "precision 'fp8' is not allowed; allowed: 32-true, bf16-mixed, 16-mixed"),
    (["--log-every-n-steps", "0"], "log_every_n_steps must be a positive integer, got 0"),
    (["--tag", "nokey"], "tags must be KEY=VALUE, got 'nokey'"),
    (["--resume", "no-such-run"], "no run 'no-such-run': give a run id"),
    # config values of every type
    (["--batch-size", "1.5"], "batch_size must be an integer, got '1.5'"),
    (["--learning-rate", "nan"], "learning_rate must be a positive number, got nan"),
    (["--generator-ema", "1"], "generator_ema must be in [0, 1), got 1.0"),
    (["--convergence-monitor", "Accuracy"], "convergence_monitor 'Accuracy' must be auto or one of the metrics"),
    (["--threads", "two"], "threads must be auto or a positive integer, got 'two'"),
    (["--killer", "maybe"], "unrecognized arguments: maybe"),
    # YAML files
    (["--config", "a_folder.yaml"], "config file a_folder.yaml is a folder; give a YAML file"),
    (["--data-file", "a_folder.yaml"], "data file a_folder.yaml is a folder"),
    (["--config", "a_list.yaml"], "a_list.yaml: expected a mapping of config keys, got list"),
    # data files
    (["--data-file", "empty.csv"], "empty.csv: 0 points; need at least 10"),
    (["--data-file", "no_rows.npy"], "no_rows.npy: 0 points; need at least 10"),
    (["--data-file", "points.txt"], "points.txt: unsupported file type '.txt'; allowed: .npy, .npz, .csv"),
    (["--data-file", "huge.npy"], "huge.npy: coordinates reach"),
    (["--data-file", "one_point.npy"], "one_point.npy: all 100 points are the same point"),
    # mixture specifications
    (["--target", "mixture", "--mixture-means", "[[0,0],[4,4]]", "--mixture-covs", "[[[1,0],[0,1]]]"],
     "covs must have shape (2, 2, 2) to match means (2, 2), got (1, 2, 2)"),
    (["--target", "mixture", "--mixture-means", "[[0,0,0]]", "--mixture-covs", "[[[1,0],[0,1]]]"],
     "mixture_means must be K×2 (K 2-D points), got shape (1, 3)"),
    (["--target", "mixture", "--mixture-means", "[[0,0]]", "--mixture-covs", "[[[1,0.5],[0,1]]]"],
     "covs[0] = [[1.0, 0.5], [0.0, 1.0]] is not symmetric"),
    (["--target", "mixture", "--mixture-means", "[[0,0]]", "--mixture-covs", "[[[1,2],[2,1]]]"],
     "covs[0] = [[1.0, 2.0], [2.0, 1.0]] is not positive-definite"),
    (["--target", "mixture", "--mixture-means", "[[0,0],[4,4]]", "--mixture-covs", "[[[1,0],[0,1]],[[1,0],[0,1]]]",
      "--mixture-weights", "1,-1"], "weights must be positive and sum to 1, got [1.0, -1.0]"),
    # devices that are not there
    (["--accelerator", "gpu"], "accelerator 'gpu' is not available on this machine"),
    (["--generator-type", "quantum_samples", "--quantum-device", "lightning.gpu"],
     "quantum_device 'lightning.gpu' is not available here"),
    # tracking stores that cannot work, and an output folder that cannot be made
    (["--tracking-uri", "http://127.0.0.1:9"], "MLflow tracking server 'http://127.0.0.1:9' did not answer within 5 s"),
    (["--tracking-uri", "{silent server}"], "did not answer within 5 s (timed out)"),
    (["--tracking-uri", "sqlite:///nowhere/mlflow.db"], "the folder"),
    (["--output-dir", "a_file/runs"], "output_dir 'a_file/runs' cannot be made"),
]


@pytest.fixture
def earlier_work(scratch):
    "Bad input files, and an earlier run's folder that a failing command must leave untouched."
    _write_bad_files(scratch)
    earlier = scratch / "runs" / "earlier-run"
    earlier.mkdir(parents=True)
    (earlier / "summary.json").write_text('{"kept": true}')
    before = {p: p.read_bytes() for p in scratch.rglob("*") if p.is_file()}
    yield scratch
    assert {p: p.read_bytes() for p in before} == before  # nothing already written was changed or removed


@pytest.fixture(scope="module")
def silent_server():
    "The URL of a server that accepts connections and never answers (a hung tracking server)."
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"


@pytest.mark.parametrize("args,message", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_clear_line_and_loses_nothing(earlier_work, silent_server, capsys, args, message):
    from gaussgan.cli import main
    args = [silent_server if a == "{silent server}" else a for a in args]
    paths_before = set(earlier_work.rglob("*"))
    try: status = main(["train", "--max-epochs", "1", *SMALL, *args])
    except SystemExit as e: status = e.code  # argparse's own errors
    out, err = capsys.readouterr()
    assert_one_line_error(status, out, err, message, expected_status=1 if "did not answer" in message else 2)
    assert set(earlier_work.rglob("*")) == paths_before  # nothing new: no MLflow store or entry, no run folder


def test_bad_input_from_the_installed_command(earlier_work):
    done = gaussgan("train", "--data-file", "nan.npy", cwd=earlier_work)
    assert_one_line_error(done.returncode, done.stdout, done.stderr, "rows hold NaN or infinite values")


def test_help_lists_every_config_key_by_topic_with_its_meaning():
    from gaussgan.config import CONFIG_KEYS, KEY_ALIASES, settings_table
    done = subprocess.run(["gaussgan", "train", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())  # argparse wraps long help lines
    for key in CONFIG_KEYS:  # every key an option; tags as one --tag per tag
        assert "--" + ("tag" if key == "tags" else key.replace("_", "-")) in done.stdout, key
    from gaussgan.cli import make_parser
    for old, new in KEY_ALIASES.items():  # the earlier system's names: accepted, not listed
        assert "--" + old.replace("_", "-") + " " not in done.stdout, old
        assert getattr(make_parser().parse_args(["train", "--" + old.replace("_", "-"), "1"]), new) == "1", old
    for row in settings_table():
        assert " ".join(row["meaning"].split())[:40] in text, row["key"]
    topics = [row["topic"] for row in settings_table()]
    positions = [done.stdout.index(topic + ":") for topic in dict.fromkeys(topics)]
    assert positions == sorted(positions)  # the topics in the config's order


EARLIER_CONFIG = Path(__file__).parent / "earlier_config.yaml"


def test_the_earlier_systems_config_trains_on_a_cpu(scratch):
    "Its complete config.yaml, as it is in its repository, with only the accelerator (gpu there) overridden."
    (scratch / "config.yaml").write_text(EARLIER_CONFIG.read_text())
    done = gaussgan("train", "--config", "config.yaml", "--accelerator", "cpu", "--max-epochs", "1",
                    "--dataset-size", "2000", "--no-progress-bar", cwd=scratch)
    assert done.returncode == 0, done.stderr
    notes = [l for l in done.stderr.splitlines() if l.startswith("gaussgan: note: ")]
    assert len(notes) == 1 and "stage" in notes[0] and "stability_runs" in notes[0], done.stderr
    assert "MMD" in done.stdout and "KLDivergence" in done.stdout
    (run,) = [p / "artifacts" for p in (scratch / "checkpoints").iterdir()]  # under its checkpoint_path
    assert (run / "checkpoints" / "last.ckpt").is_file()
    import yaml
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["critic_widths"] == [256, 256] and saved["reference_samples"] == 1000
    assert saved["metrics"][-2:] == ["MMD", "MMDMultiScale"] and saved["experiment_name"] == "GaussGAN-manual"


def test_an_unknown_key_beside_earlier_ones_is_still_an_error(earlier_work):
    (earlier_work / "mixed.yaml").write_text(EARLIER_CONFIG.read_text() + "max_epoch: 3\n")
    done = gaussgan("train", "--config", "mixed.yaml", cwd=earlier_work)
    assert_one_line_error(done.returncode, done.stdout, done.stderr, "unknown key 'max_epoch' (did you mean")


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_train_logs_to_a_tracking_server(scratch):
    "Any tracking URI works, not just the embedded SQLite store: here an MLflow server on loopback."
    import time
    import urllib.request

    import mlflow

    port = _free_port()
    server = subprocess.Popen(["mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                               "--backend-store-uri", f"sqlite:///{scratch}/server.db",
                               "--artifacts-destination", str(scratch / "server-artifacts")],
                              cwd=scratch, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):  # bounded wait for the server to answer
            try:
                urllib.request.urlopen(uri + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        done = gaussgan("train", "--max-epochs", "1", *SMALL, "--tracking-uri", uri, "--experiment-name", "served", cwd=scratch)
        assert done.returncode == 0, done.stderr
        client = mlflow.MlflowClient(uri)
        (run,) = client.search_runs([client.get_experiment_by_name("served").experiment_id])
        assert "val/KLDivergence" in run.data.metrics
        uploaded = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert uploaded >= {"samples.npz", "config.yaml", "summary.json", "plots", "checkpoints"}
        assert {a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")} == {"checkpoints/best.ckpt",
                                                                                          "checkpoints/last.ckpt"}
        assert not (scratch / "mlflow.db").exists()  # nothing went to the embedded default
    finally:
        server.terminate()
        server.wait(timeout=30)


def _documented_exit_statuses() -> set[int]:
    "The statuses of the exit-code table in the errors chapter."
    import json, re
    from conftest import REPO
    cells = json.loads((REPO / "nbs" / "00_errors.ipynb").read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return {int(s) for s in re.findall(r"^\| (\d+) \|", text, flags=re.M)}


def test_every_documented_exit_status_is_what_a_command_returns(scratch, monkeypatch, capsys):
    import gaussgan.cli as cli
    np.save(scratch / "points.npy", np.random.default_rng(0).normal(size=(100, 2)))
    def interrupted(args): raise KeyboardInterrupt
    scenarios = {0: ["evaluate", "points.npy"],                                   # done
                 1: ["train", *SMALL, "--tracking-uri", "http://127.0.0.1:9"],    # failed as it ran: no server
                 2: ["train", *SMALL, "--threads", "two"],                        # asked for what cannot be
                 130: ["sample", "run", "--out", "p.npy"]}                        # Ctrl-C (the command replaced)
    monkeypatch.setitem(cli.COMMANDS, "sample", interrupted)
    assert set(scenarios) == _documented_exit_statuses()
    for status, args in scenarios.items():
        assert cli.main(args) == status, (args, capsys.readouterr().err)
        err = capsys.readouterr().err
        assert status in (0, 130) or (err.startswith("gaussgan: error: ") and err.count("\n") == 1), err


def test_print_config_is_the_resolved_config_and_reads_back(scratch, capsys):
    from gaussgan.cli import main
    from gaussgan.config import Config, load_config
    assert main(["train", "--preset", "grid25", "--max-epochs", "9", "--noise", "quantum_samples", "--print-config"]) == 0
    printed = capsys.readouterr().out
    (scratch / "printed.yaml").write_text(printed)
    assert load_config(scratch / "printed.yaml") == Config.from_preset("grid25", max_epochs=9, noise="quantum_samples")
    assert main(["train", "--config", "printed.yaml", "--print-config"]) == 0
    assert capsys.readouterr().out == printed  # a fixed point: printing what it reads gives the same file
    assert not (scratch / "runs").exists() and not (scratch / "mlflow.db").exists()  # nothing trained or logged


def test_output_dir_is_honoured_when_the_experiment_already_exists(scratch):
    "MLflow fixes an experiment's artifact folder at its first run; a later run still writes where it is asked to."
    first = gaussgan("train", "--max-epochs", "1", *SMALL, cwd=scratch)
    second = gaussgan("train", "--max-epochs", "1", *SMALL, "--output-dir", "elsewhere", cwd=scratch)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    run_id = second.stdout.split()[1]
    assert (scratch / "elsewhere" / run_id / "checkpoints" / "last.ckpt").is_file()
    assert str(scratch / "elsewhere" / run_id) in second.stdout
    import mlflow
    listed = {a.path for a in mlflow.MlflowClient(f"sqlite:///{scratch}/mlflow.db").list_artifacts(run_id)}
    assert {"checkpoints", "samples.npz"} <= listed  # MLflow's copy, in the experiment's own artifact folder
    resumed = gaussgan("train", "--resume", run_id, "--output-dir", "elsewhere", "--max-epochs", "2", cwd=scratch)
    assert resumed.returncode == 0 and f"Run {run_id} finished (2 epochs)" in resumed.stdout, resumed.stderr
