import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread (the numba kernels follow), then restore the count.

    The networks in the agents and supervised tests are tiny: with two OpenMP threads on
    a busy 2-core machine every small op waits for the other thread (measured: 12 ms per
    2x16 Linear instead of 16 us). Apply with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
