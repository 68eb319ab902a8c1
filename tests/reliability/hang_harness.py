"""Run the kgrec CLI, but hang in the middle of one epoch so a test can SIGKILL it there.

Usage: ``python hang_harness.py HANG_EPOCH [kgrec arguments...]``. In epoch ``HANG_EPOCH``
the process stops after the first optimiser step (so the in-memory state is half an epoch
ahead of the last checkpoint) and sleeps until killed. Not a test module: tests start it.
"""

import sys
import time

from kgrec.train import sampler

HANG_AT = int(sys.argv[1])
_original = sampler.BPRSampler.epoch
_epochs = [0]


def _epoch(self, batch_size, generator):
    _epochs[0] += 1
    for index, batch in enumerate(_original(self, batch_size, generator)):
        if _epochs[0] == HANG_AT and index == 1:
            time.sleep(120)  # the test kills us long before this ends
            raise SystemExit(99)
        yield batch


sampler.BPRSampler.epoch = _epoch

from kgrec.cli.main import main  # noqa: E402  (after the patch, like any plugin would load)

main(sys.argv[2:])
