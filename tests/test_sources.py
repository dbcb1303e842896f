"""A noise source of a researcher's own, registered here and nowhere else: the config accepts it, the model
builder hands it its options, and it trains alone and as a seed ensemble, each member the run its seed makes alone."""
import numpy as np
import pytest
import torch

from gaussgan.config import Config
from gaussgan.errors import GaussGanError
from gaussgan.sources import NOISE_SOURCES, NoiseSource, register_noise_source
from gaussgan.train import train


class Laplace(NoiseSource):
    "Laplace latent vectors of a given scale, drawn through `self.random` (so a seed ensemble's members own theirs)."
    def __init__(self, z_dim: int, scale: float):
        super().__init__(z_dim)
        self.scale = scale

    def forward(self, batch_size: int):
        u = self.random.uniform(batch_size, self.z_dim, device=self.device).clamp(1e-6, 1 - 1e-6) - 0.5
        return -self.scale * torch.sign(u) * torch.log1p(-2 * u.abs())


def refuse_a_wide_scale(scale: float) -> None:
    if scale > 10: raise GaussGanError(f"laplace takes a scale of at most 10, got {scale}")


@pytest.fixture
def laplace():
    "The source, registered for this test only: its scale comes from the config's std_scale."
    register_noise_source("laplace", options={"scale": "std_scale"}, stackable=True, check=refuse_a_wide_scale)(
        lambda z_dim, scale: Laplace(z_dim, scale))
    yield "laplace"
    del NOISE_SOURCES["laplace"]


def small(folder, **settings) -> Config:
    return Config(**{"generator_type": "laplace", "max_epochs": 1, "dataset_size": 1000, "generator_widths": [16, 16],
                     "critic_widths": [16, 16], "progress_bar": False, "threads": "1", "std_scale": 0.7,
                     "tracking_uri": f"sqlite:///{folder}/mlflow.db", "output_dir": f"{folder}/runs", **settings})


def test_the_config_takes_a_registered_source_and_its_check(laplace, scratch):
    assert small(scratch).noise == "laplace"  # the shorthand names a registered source too
    with pytest.raises(GaussGanError, match="config: laplace takes a scale of at most 10, got 12.0"):
        small(scratch, std_scale=12)


def test_a_registered_source_trains_alone_and_as_a_seed_ensemble(laplace, scratch):
    alone = [train(small(scratch, seed=seed)) for seed in (41, 42)]
    source = alone[0].model.generator.noise_source
    assert isinstance(source, Laplace) and source.scale == 0.7  # the option read off the config
    together = train(small(scratch), seeds=2)
    assert list(together.seeds.index) == [41, 42] and together.samples.shape == (2, 2000, 2)
    for i, run in enumerate(alone):  # each member is its seed's run alone, up to floating-point reordering
        np.testing.assert_allclose(together.samples[i], run.samples, atol=1e-3)


def test_an_unregistered_source_is_refused(scratch):
    with pytest.raises(GaussGanError, match="generator_type 'laplace' is not allowed"):
        small(scratch)
