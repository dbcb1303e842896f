"""Seed ensembles as a user runs them: members equal to their seeds' runs alone, resuming, the CLI report, and
quantum seeds one after another."""
import subprocess

import mlflow
import numpy as np
import pytest
import torch

from gaussgan.config import Config
from gaussgan.errors import GaussGanError
from gaussgan.saving import read_checkpoint
from gaussgan.train import train

SMALL = dict(generator_widths=[32, 32], critic_widths=[32, 32], progress_bar=False, threads="1")


def where(scratch, **settings) -> Config:
    return Config(tracking_uri=f"sqlite:///{scratch}/mlflow.db", output_dir=str(scratch / "runs"), **SMALL, **settings)


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm().clamp_min(1e-12)).item()


QUANTUM = dict(quantum_qubits=3, quantum_layers=1, z_dim=3)
GENERATORS = {"classical_normal": dict(noise="classical_normal"), "classical_uniform": dict(noise="classical_uniform"),
              "direct": dict(generator_type="direct"), "quantum_samples": dict(noise="quantum_samples", **QUANTUM),
              "quantum_samples, direct head, 50 shots": dict(noise="quantum_samples", generator_head="direct",
                                                              quantum_sample_shots=50, **QUANTUM),
              "quantum_shadows": dict(noise="quantum_shadows", **QUANTUM),
              "quantum_samples, per-qubit inputs": dict(noise="quantum_samples", quantum_encoding="per_qubit",
                                                         **QUANTUM),
              "direct, 3 latent components": dict(generator_type="direct", latent_components=3),
              "quantum_samples, 3 fixed latent components": dict(noise="quantum_samples", latent_components=3,
                                                                  latent_components_learned=False, **QUANTUM),
              "direct, 3 pieces on clusters, conditioned critic": dict(generator_type="direct", latent_components=3,
                                                                       generator_batch_norm=False, latent_init="clusters",
                                                                       conditional_critic=True)}


@pytest.mark.parametrize("generator", GENERATORS.values(), ids=GENERATORS.keys())
def test_each_member_ends_where_its_seed_alone_ends(scratch, generator):
    "One epoch of 4 steps: every weight tensor of every member within 1e-3 (relative) of its seed's run alone."
    config = where(scratch, max_epochs=1, dataset_size=1000, **generator)
    ensemble = read_checkpoint(train(config, seeds=3).checkpoint)["state_dict"]
    for i, seed in enumerate((41, 42, 43)):
        alone = read_checkpoint(train(Config(**{**config.__dict__, "seed": seed})).checkpoint)["state_dict"]
        for name, value in alone.items():
            if value.is_floating_point():
                member = ensemble[name].reshape(3, -1)[i]  # a stacked BatchNorm's vectors lie side by side
                # Not 1e-4: a bias just before BatchNorm has a true gradient of zero, and Adam divides its rounding
                # noise (stacked and single matrix products round differently) by its own size (model chapter).
                assert relative_difference(member, value.flatten()) < 1e-3, (seed, name)


def test_members_are_independent(scratch):
    "Different initial weights, data and noise: no two members' samples or weights coincide."
    result = train(where(scratch, max_epochs=1, dataset_size=1000), seeds=3)
    weights = result.model.generator.body[0].weight
    for i in range(3):
        for j in range(i + 1, 3):
            assert not torch.allclose(weights[i], weights[j])
            assert not np.allclose(result.samples[i], result.samples[j])
    assert not torch.equal(result.model.trainer.datamodule.train_points[0], result.model.trainer.datamodule.train_points[1])


def test_a_resumed_ensemble_ends_where_an_uninterrupted_one_ends(scratch):
    whole = train(where(scratch, max_epochs=3, dataset_size=1000), seeds=2)
    first = train(where(scratch, max_epochs=2, dataset_size=1000), seeds=2)
    resumed = train(where(scratch, max_epochs=3, dataset_size=1000, seeds=2), resume=first.run_id)
    assert resumed.run_id == first.run_id and len(resumed.history) == 3
    assert np.array_equal(resumed.samples, whole.samples)
    assert resumed.seeds.equals(whole.seeds)


def test_cli_reports_mean_std_and_each_seed(scratch):
    done = subprocess.run(["gaussgan", "train", "--seeds", "2", "--max-epochs", "2", "--dataset-size", "1000",
                           "--generator-widths", "32,32", "--critic-widths", "32,32", "--no-progress-bar"],
                          cwd=scratch, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("Final values over 2 seeds") for line in lines)
    header = next(line for line in lines if "mean ± std" in line)
    assert "seed 41" in header and "seed 42" in header
    kl = next(line for line in lines if line.strip().startswith("KLDivergence")).split()
    mean, std, per_seed = float(kl[1]), float(kl[3]), [float(v) for v in kl[4:]]
    assert abs(mean - np.mean(per_seed)) < 1e-3 and abs(std - np.std(per_seed, ddof=1)) < 1e-3
    client = mlflow.MlflowClient(f"sqlite:///{scratch}/mlflow.db")
    (run,) = client.search_runs(client.get_experiment_by_name("gaussgan").experiment_id)
    for key in ("val/KLDivergence", "val/KLDivergence/seed_41", "val/KLDivergence/seed_42"):
        assert len(client.get_metric_history(run.info.run_id, key)) == 2, key
    assert {"final/within_3/seed_41", "final/within_3/seed_42"} <= set(run.data.metrics)


def test_unstackable_seeds_run_one_after_another(scratch):
    quantum = dict(noise="quantum_samples", quantum_device="default.qubit", **QUANTUM)
    result = train(where(scratch, max_epochs=1, dataset_size=500, **quantum), seeds=2)
    assert all(run.run_dir.is_dir() and run.checkpoint.is_file() for run in result.runs)
    assert list(result.seeds.index) == [41, 42] and len({run.run_id for run in result.runs}) == 2
    client = mlflow.MlflowClient(f"sqlite:///{scratch}/mlflow.db")
    for run, seed in zip(result.runs, (41, 42)):
        info = client.get_run(run.run_id)
        assert info.data.tags["gaussgan.seed_group"] == result.group and info.data.params["seed"] == str(seed)
        assert result.seeds.at[seed, "KLDivergence"] == pytest.approx(run.metrics["KLDivergence"])
    assert (result.folder / "seeds.csv").is_file() and (result.folder / "seeds.png").stat().st_size > 10_000
    with pytest.raises(GaussGanError, match="seeds of noise quantum_samples on quantum_device default.qubit are separate runs"):
        train(where(scratch, max_epochs=2, dataset_size=500, **quantum), seeds=2, resume=result.runs[0].run_id)
