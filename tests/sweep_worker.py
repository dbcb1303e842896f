"""`gaussgan sweep` whose trials start only once the study holds two trials, so each of two workers runs one.

    python sweep_worker.py <gaussgan sweep options>

Then both workers of a shared study contribute, however fast or slow either starts, and a test of the study does
not depend on timing. The wait is for a condition (bounded), never for an amount of time.
"""
import sys
import time

import gaussgan.sweep
from gaussgan.cli import main

run_trial = gaussgan.sweep.run_trial


def run_trial_once_the_study_holds_two(trial, **settings):
    deadline = time.monotonic() + 240
    while len(trial.study.get_trials(deepcopy=False)) < 2:  # another worker has not asked for its first trial yet
        if time.monotonic() > deadline: raise SystemExit("no other worker joined the study")
        time.sleep(0.2)
    return run_trial(trial, **settings)


gaussgan.sweep.run_trial = run_trial_once_the_study_holds_two
sys.exit(main(["sweep", *sys.argv[1:]]))
