"""`gaussgan sweep` as a user runs it: a sweep with local workers, bad search spaces, and two workers sharing one
study through a PostgreSQL server started for the test (Debian's `postgresql`; `.ci/run` installs it)."""
import getpass
import glob
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow
import optuna
import pytest

from conftest import SMALL, assert_one_line_error

SPACE = "learning_rate: {low: 1.0e-4, high: 1.0e-2, log: true}\nn_critic: {low: 1, high: 5}\ngrad_penalty: [0.1, 1.0]\n"
QUICK = [*SMALL, "--max-epochs", "2", "--threads", "1"]


def children_of(client, parent_run_id):
    experiment = client.get_run(parent_run_id).info.experiment_id
    return client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'")


def check_study(study, client, trials):
    "Every finished trial ran once, in its own MLflow run, a child of the study's parent run."
    finished = [t for t in study.trials if t.state.is_finished()]
    assert trials <= len(finished) and len({t.number for t in finished}) == len(finished)
    runs = [t.user_attrs["mlflow_run_id"] for t in finished]
    assert len(set(runs)) == len(runs)
    children = children_of(client, study.user_attrs["mlflow_parent_run_id"])
    assert sorted(r.info.run_id for r in children) == sorted(runs)
    return {t.user_attrs["worker"] for t in finished}


def sweep_worker(*args):
    "`gaussgan sweep` as `tests/sweep_worker.py` runs it: each worker's trials wait until the study has two."
    return [sys.executable, str(Path(__file__).parent / "sweep_worker.py"), *args]


def test_a_sweep_with_two_local_workers_prints_its_best_trial(scratch):
    (scratch / "space.yaml").write_text(SPACE)
    # The first worker (the command) waits for the second (which it starts) to take a trial: both contribute.
    done = subprocess.run(sweep_worker("--space", "space.yaml", "--trials", "4", "--jobs", "2", "--study", "local",
                                       *QUICK), cwd=scratch, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Study local: 4 trials" in done.stdout or "Study local: 5 trials" in done.stdout, done.stdout
    assert "Best trial " in done.stdout and "KLDivergence" in done.stdout
    assert not (scratch / "optuna.db").exists()  # the default for workers on one machine: a journal file
    from gaussgan.sweep import study_storage
    study = optuna.load_study(study_name="local", storage=study_storage(str(scratch / "optuna.journal")))
    workers = check_study(study, mlflow.MlflowClient(f"sqlite:///{scratch}/mlflow.db"), trials=4)
    assert len(workers) == 2, workers  # both processes ran trials
    for name in ("trials.csv", "history.png", "importances.png"):
        assert (scratch / "runs" / "sweeps" / "local" / name).is_file()


BAD_SPACES = [
    ("learning_rat: {low: 1.0e-4, high: 1.0e-2}\n", "unknown key 'learning_rat' (did you mean 'learning_rate'?)"),
    ("learning_rate: {low: 0.1, high: 0.01}\n", "learning_rate: low must be below high, got 0.1 and 0.01"),
    ("n_critic: {low: 1, high: 5.5}\n", "n_critic is an integer setting"),
    ("learning_rate: {low: 0, high: 1, log: true}\n", "a log range needs low > 0"),
    ("generator_type: {low: 1, high: 2}\n", "generator_type is not a number; give it a list of choices"),
    ("generator_type: [classical_normal, quantum_magic]\n", "generator_type: 'quantum_magic' would not be a valid run"),
    ("learning_rate: 0.01\n", "learning_rate: give a range {low: …, high: …} or a list of choices, got 0.01"),
    ("learning_rate: {low: 1.0e-4, hi: 1.0e-2}\n", "a range is {low: …, high: …} with optional log or step"),
    ("[learning_rate]\n", "expected a mapping of config keys, got list"),
    ("{}\n", "the search space is empty"),
    ("seeds: [1, 3]\nnoise: [classical_normal, quantum_samples]\nquantum_device: [torch, default.qubit]\n",
     "seeds 3 of noise quantum_samples on quantum_device default.qubit would be 3 runs, and a trial is one run"),
]


def test_sampler_and_pruner_are_the_users_and_a_grid_covers_its_space(scratch):
    "--sampler grid with --pruner none: every combination of the space's choices, once; an unknown name is one line."
    (scratch / "space.yaml").write_text("n_critic: [1, 2]\nlearning_rate: [0.001, 0.003]\n")
    done = subprocess.run(["gaussgan", "sweep", "--space", "space.yaml", "--trials", "4", "--study", "grid",
                           "--sampler", "grid", "--pruner", "none", *QUICK], cwd=scratch, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    from gaussgan.sweep import study_storage
    study = optuna.load_study(study_name="grid", storage=study_storage(str(scratch / "optuna.journal")))
    assert sorted((t.params["n_critic"], t.params["learning_rate"]) for t in study.trials) == [
        (1, 0.001), (1, 0.003), (2, 0.001), (2, 0.003)]
    bad = subprocess.run(["gaussgan", "sweep", "--space", "space.yaml", "--sampler", "annealing", *QUICK],
                         cwd=scratch, capture_output=True, text=True, timeout=300)
    assert_one_line_error(bad.returncode, bad.stdout, bad.stderr, "unknown sampler 'annealing'; allowed: tpe, random")


@pytest.mark.parametrize("text,message", BAD_SPACES, ids=[m for _, m in BAD_SPACES])
def test_a_bad_search_space_is_one_line_and_writes_nothing(scratch, capsys, text, message):
    from gaussgan.cli import main
    (scratch / "space.yaml").write_text(text)
    status = main(["sweep", "--space", "space.yaml", "--trials", "2", *QUICK])
    out, err = capsys.readouterr()
    assert_one_line_error(status, out, err, message)
    assert sorted(p.name for p in scratch.iterdir()) == ["space.yaml"]  # no study, no MLflow store, no run folder


def test_missing_space_file_and_unreachable_storage(scratch, capsys):
    from gaussgan.cli import main
    status = main(["sweep", "--space", "nowhere.yaml", *QUICK])
    assert_one_line_error(status, *capsys.readouterr(), "search space file not found: nowhere.yaml")
    (scratch / "space.yaml").write_text(SPACE)
    status = main(["sweep", "--space", "space.yaml", "--storage", "postgresql://nobody@127.0.0.1:9/none", *QUICK])
    assert_one_line_error(status, *capsys.readouterr(), "cannot use Optuna storage 'postgresql://nobody@127.0.0.1:9/none'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    "A PostgreSQL server of this machine's own, for the test only: its URL."
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb")]
    assert found[-1], "PostgreSQL is not installed: apt-get install postgresql (see .ci/run)"
    bin_dir = Path(found[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="gaussgan-postgres-"))  # not under pytest's root-only folder
    as_owner = ["runuser", "-u", "postgres", "--"] if getpass.getuser() == "root" else []  # it refuses to run as root
    if as_owner: shutil.chown(folder, "postgres")
    data, port = folder / "data", _free_port()
    subprocess.run([*as_owner, bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True)
    subprocess.run([*as_owner, bin_dir / "pg_ctl", "-D", data, "-l", folder / "log", "-w", "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    try:
        subprocess.run([bin_dir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "optuna"],
                       check=True, capture_output=True)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/optuna"
    finally:
        subprocess.run([*as_owner, bin_dir / "pg_ctl", "-D", data, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_workers_share_one_study_through_postgresql(scratch, postgres):
    (scratch / "space.yaml").write_text(SPACE)
    command = sweep_worker("--space", "space.yaml", "--trials", "6", "--study", "shared", "--storage", postgres,
                           *QUICK)
    workers = [subprocess.Popen([*command, "--sampler-seed", str(seed)], cwd=scratch, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
        assert "Best trial " in out
    study = optuna.load_study(study_name="shared", storage=postgres)
    assert len(check_study(study, mlflow.MlflowClient(f"sqlite:///{scratch}/mlflow.db"), trials=6)) == 2
