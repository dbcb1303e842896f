"""Data of any scale and offset: the same points in other units train to the same result, in those units."""
import numpy as np
import torch

from gaussgan.config import Config
from gaussgan.data import two_gaussians
from gaussgan.metrics import mode_coverage
from gaussgan.train import train


def test_units_do_not_change_what_is_learned(scratch):
    "The default data at scale 1, x100 and x0.01 (and moved), 3 epochs each: the same coverage in the data's units."
    points = two_gaussians().sample(4000, seed=41).numpy()
    means = np.array([[-5., 5.], [5., 5.]])
    within = {}
    for factor, offset in ((1.0, 0.0), (100.0, 0.0), (0.01, 7.0)):
        np.save(scratch / f"points_{factor}.npy", points * factor + offset)
        result = train(Config(max_epochs=3, data_file=str(scratch / f"points_{factor}.npy"), progress_bar=False,
                              tracking_uri=f"sqlite:///{scratch}/mlflow.db", output_dir=str(scratch / "runs")))
        coverage = mode_coverage(torch.from_numpy(result.samples), torch.from_numpy(means * factor + offset),
                                 radius=3 * factor)
        within[factor] = coverage["within"]
        assert np.isfinite(result.samples).all() and abs(result.samples.mean(0)[1] - (5 * factor + offset)) < 3 * factor
    assert within[1.0] > 0.5, within                     # it learned something in three epochs
    assert max(within.values()) - min(within.values()) <= 0.02, within
