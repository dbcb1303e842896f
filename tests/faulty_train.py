"""`gaussgan train` with a fault injected at an exact point, for the crash and divergence tests.

    python faulty_train.py kill-mid-epoch EPOCH BATCH  -- <gaussgan train options>
    python faulty_train.py kill-writing-checkpoint EPOCH -- <options>
    python faulty_train.py poison-critic EPOCH BATCH  -- <options>
    python faulty_train.py record-weights -- <options>   (each process writes weights_rank<r>.pt at the end)
    python faulty_train.py interrupt-at POINT -- <options>   (a SIGINT, as Ctrl-C sends, at POINT: see INTERRUPTS)

The kills are SIGKILL, which no code can catch: the process stops where it is, as in a power cut or an
out-of-memory kill. Placing them with hooks, not timers, makes the tests independent of machine speed.
"""
import os
import signal
import sys
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins.io import TorchCheckpointIO

import gaussgan.results
import gaussgan.train
from gaussgan.cli import main
from gaussgan.model import GaussGan
from gaussgan.tracking import CheckpointedMLFlowLogger


def die():
    os.kill(os.getpid(), signal.SIGKILL)


class AtBatch(Callback):
    "Calls `action(pl_module)` after training batch `batch` of epoch `epoch`."
    def __init__(self, epoch, batch, action): self.epoch, self.batch, self.action = epoch, batch, action
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch): self.action(pl_module)


def poison_critic(pl_module):
    with torch.no_grad(): pl_module.critic.net[0].weight[0, 0] = float("nan")


def kill_while_writing_last_checkpoint(epoch):
    "Half of last.ckpt's bytes reach its temporary file, then the process is killed."
    write = TorchCheckpointIO.save_checkpoint
    def half_then_die(self, checkpoint, path, storage_options=None):
        if checkpoint["epoch"] == epoch and Path(path).name.startswith(".last.ckpt."):
            write(self, checkpoint, path, storage_options)
            whole = Path(path).read_bytes()
            Path(path).write_bytes(whole[: len(whole) // 2])
            die()
        return write(self, checkpoint, path, storage_options)
    TorchCheckpointIO.save_checkpoint = half_then_die


class RecordWeights(Callback):
    "Each process of a run writes its final weights to weights_rank<global rank>.pt in the working directory."
    def on_fit_end(self, trainer, pl_module):  # parameters: BatchNorm's running statistics are each process's own
        torch.save({k: v.detach().cpu() for k, v in pl_module.named_parameters()},
                   f"weights_rank{trainer.global_rank}.pt")


def interrupt_within(owner, name, when=lambda *args, **kwargs: True):
    "`owner.name` does its work, then this process gets a SIGINT (as from Ctrl-C) before it returns, when `when`."
    work = getattr(owner, name)
    def work_then_interrupt(*args, **kwargs):
        result = work(*args, **kwargs)
        if when(*args, **kwargs): signal.raise_signal(signal.SIGINT)  # to this thread, at once, as a Ctrl-C
        return result
    setattr(owner, name, work_then_interrupt)


at_epoch = lambda epoch: lambda self, *args, **kwargs: self.trainer.current_epoch == epoch
writing = lambda epoch: lambda self, checkpoint, path, *args: checkpoint["epoch"] == epoch and ".last.ckpt." in path
INTERRUPTS = {  # where a Ctrl-C can land, each placed by a hook, never by a timer
    "start-up": lambda: interrupt_within(gaussgan.train, "make_logger"),  # the MLflow run just created
    "mlflow-call": lambda: interrupt_within(CheckpointedMLFlowLogger, "log_metrics",
                                            lambda self, metrics, step=None: metrics.get("epoch") == 1),
    "validation": lambda: interrupt_within(GaussGan, "validation_step", at_epoch(1)),
    "checkpoint-write": lambda: interrupt_within(TorchCheckpointIO, "save_checkpoint", writing(1)),
    "last-checkpoint-write": lambda: interrupt_within(TorchCheckpointIO, "save_checkpoint", writing(2)),
    "end-of-run": lambda: interrupt_within(gaussgan.results, "save_run_plots"),
}


def with_callback(callback):
    "`gaussgan.train.train` with `callback` added to the run's own."
    train = gaussgan.train.train
    gaussgan.train.train = lambda config, callbacks=(), resume=None: train(config, [*callbacks, callback], resume)


if __name__ == "__main__":
    split = sys.argv.index("--")
    fault, options = sys.argv[1], sys.argv[split + 1:]
    numbers = [int(a) for a in sys.argv[2:split]] if fault != "interrupt-at" else []
    if fault == "kill-mid-epoch": with_callback(AtBatch(*numbers, action=lambda module: die()))
    elif fault == "kill-writing-checkpoint": kill_while_writing_last_checkpoint(*numbers)
    elif fault == "poison-critic": with_callback(AtBatch(*numbers, action=poison_critic))
    elif fault == "record-weights": with_callback(RecordWeights())
    elif fault == "interrupt-at": INTERRUPTS[sys.argv[2]]()
    else: raise SystemExit(f"unknown fault {fault!r}")
    sys.exit(main(["train", *options]))
