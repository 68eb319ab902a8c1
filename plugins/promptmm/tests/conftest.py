"""One torch thread for these tests: on a shared 2-core machine, two OpenMP threads per
process spin at every barrier, and a teacher epoch on tiny data took 12 s instead of 0.1 s.
(Repeatability with several threads does not depend on this: every gather of the plugin goes
through ``index_select``, whose backward is deterministic.)"""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
