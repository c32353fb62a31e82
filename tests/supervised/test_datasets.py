"""The benchmark generators follow the protocol of docs/supervised.md exactly."""

import numpy as np
import pytest
import torch

from brc_rl.supervised.datasets import BLACK, make_data, make_dataset, mnist_permutation


def synthetic_mnist(m=40, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(m, 28, 28), dtype=np.uint8)
    labels = np.arange(m, dtype=np.uint8) % 10
    return images, labels


# ---------------------------------------------------------------- copy first input
def test_copy_first_target_is_first_input():
    x, y = make_dataset("copy_first", 500, seed=3, seq_len=7)
    assert x.shape == (500, 7, 1) and y.shape == (500, 1)
    assert x.dtype == torch.float32
    assert torch.equal(y[:, 0], x[:, 0, 0])
    # standard normal draws
    assert abs(float(x.mean())) < 0.05 and abs(float(x.std()) - 1.0) < 0.05


def test_copy_first_reproducible_from_seed():
    a, _ = make_dataset("copy_first", 20, seed=1, seq_len=5)
    b, _ = make_dataset("copy_first", 20, seed=1, seq_len=5)
    c, _ = make_dataset("copy_first", 20, seed=2, seq_len=5)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


# ---------------------------------------------------------------------- denoising
@pytest.mark.parametrize("seq_len,forget", [(20, 5), (30, 12), (400, 200)])
def test_denoising_protocol(seq_len, forget):
    n = 300
    x, y = make_dataset("denoising", n, seed=0, seq_len=seq_len, forget=forget)
    assert x.shape == (n, seq_len, 2) and y.shape == (n, 5)
    marker, data = x[..., 0], x[..., 1]
    answer = seq_len - 5
    for i in range(n):
        relevant = torch.nonzero(marker[i] == 1).flatten()
        assert len(relevant) == 5
        # no relevant step in the last `forget` steps
        assert int(relevant.max()) < seq_len - forget
        # marker: 0 at the first answer step, -1 everywhere else
        assert marker[i, answer] == 0
        others = torch.ones(seq_len, dtype=torch.bool)
        others[relevant] = False
        others[answer] = False
        assert torch.all(marker[i, others] == -1)
        # targets are the data at t1 < ... < t5, in order
        assert torch.equal(y[i], data[i, relevant])
    assert torch.all(data[:, answer:] == 0)
    assert torch.all(data[:, :answer] != 0)


def test_denoising_relevant_steps_cover_the_allowed_range():
    # with N = 5 the relevant steps reach T - 6 (just before the answer window)
    x, _ = make_dataset("denoising", 2000, seed=1, seq_len=20, forget=5)
    steps = torch.nonzero(x[..., 0] == 1)[:, 1]
    assert int(steps.min()) == 0 and int(steps.max()) == 14


@pytest.mark.parametrize("forget", [4, 16, 0])
def test_denoising_rejects_bad_forgetting_period(forget):
    with pytest.raises(ValueError, match="forget"):
        make_dataset("denoising", 10, seq_len=20, forget=forget)


# ---------------------------------------------------------------- permuted MNIST
def test_permutation_is_fixed_by_seed():
    p0 = mnist_permutation(0)
    assert sorted(p0.tolist()) == list(range(784))
    assert np.array_equal(p0, np.random.default_rng(0).permutation(784))
    assert np.array_equal(p0, mnist_permutation(0))
    assert not np.array_equal(p0, mnist_permutation(1))


def test_psmnist_applies_the_permutation_to_scaled_pixels():
    images, labels = synthetic_mnist()
    x, y = make_dataset("psmnist", None, seed=5, images=images, labels=labels, permutation_seed=7)
    perm = np.random.default_rng(7).permutation(784)
    assert x.shape == (40, 784, 1) and y.dtype == torch.int64
    expected = (images.reshape(40, 784)[:, perm] / 255.0 - 0.5).astype(np.float32)
    assert np.allclose(x[..., 0].numpy(), expected, atol=1e-6)
    assert torch.equal(y, torch.from_numpy(labels.astype(np.int64)))
    # one white pixel at (r, c) shows at the step s with perm[s] = 28 r + c
    one = np.zeros((1, 28, 28), np.uint8)
    one[0, 3, 17] = 255
    x1, _ = make_dataset("psmnist", None, images=one, labels=np.zeros(1, np.uint8),
                         permutation_seed=7)
    step = int(np.nonzero(perm == 3 * 28 + 17)[0][0])
    assert x1[0, step, 0] == 0.5
    assert torch.all(torch.cat([x1[0, :step, 0], x1[0, step + 1:, 0]]) == -0.5)


def test_permutation_does_not_depend_on_sample_seed_or_split():
    images, labels = synthetic_mnist()
    a, _ = make_dataset("psmnist", None, seed=0, images=images, labels=labels)
    b, _ = make_dataset("psmnist", None, seed=9, split="test", images=images, labels=labels)
    assert torch.equal(a, b)


def test_mnist_subset_is_seeded_and_without_repeats():
    images, labels = synthetic_mnist()
    a, ya = make_dataset("psmnist", 15, seed=1, images=images, labels=labels)
    b, _ = make_dataset("psmnist", 15, seed=1, images=images, labels=labels)
    c, _ = make_dataset("psmnist", 15, seed=2, images=images, labels=labels)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert len({tuple(row.tolist()) for row in a[..., 0]}) == 15
    with pytest.raises(ValueError, match="41"):
        make_dataset("psmnist", 41, images=images, labels=labels)


def test_plmnist_lines_then_black_lines():
    images, labels = synthetic_mnist()
    x, _ = make_dataset("plmnist", None, images=images, labels=labels, black_lines=6)
    assert x.shape == (40, 34, 28)
    perm = mnist_permutation(0)
    expected = (images.reshape(40, 784)[:, perm] / 255.0 - 0.5).reshape(40, 28, 28)
    assert np.allclose(x[:, :28].numpy(), expected, atol=1e-6)
    assert torch.all(x[:, 28:] == BLACK) and BLACK == -0.5


def test_pvlmnist_variable_black_lines_and_end_marker():
    images, labels = synthetic_mnist(m=300)
    x, y, lengths = make_dataset("pvlmnist", None, seed=4, images=images, labels=labels,
                                 max_black_lines=10)
    assert x.shape == (300, 39, 28) and lengths.shape == (300,)
    black = lengths - 29
    # N drawn per sample, uniformly in {0, ..., 10}: every value shows up
    assert sorted(set(black.tolist())) == list(range(11))
    perm = mnist_permutation(0)
    pixels = (images.reshape(300, 784)[:, perm] / 255.0 - 0.5).reshape(300, 28, 28)
    for i in range(300):
        n = int(black[i])
        assert np.allclose(x[i, :28].numpy(), pixels[i], atol=1e-6)
        assert torch.all(x[i, 28:28 + n] == -0.5)
        assert torch.all(x[i, 28 + n] == 1.0)  # end marker above white
        assert torch.all(x[i, 29 + n:] == 0)  # padding after the end
    again = make_dataset("pvlmnist", None, seed=4, images=images, labels=labels, max_black_lines=10)
    other = make_dataset("pvlmnist", None, seed=5, images=images, labels=labels, max_black_lines=10)
    assert torch.equal(lengths, again[2]) and not torch.equal(lengths, other[2])


def test_pvlmnist_end_value_must_be_above_white():
    images, labels = synthetic_mnist()
    with pytest.raises(ValueError, match="white"):
        make_dataset("pvlmnist", None, images=images, labels=labels, end_value=0.5)


def test_lazy_batches_equal_the_full_tensors():
    images, labels = synthetic_mnist()
    data = make_data("pvlmnist", None, seed=1, images=images, labels=labels, max_black_lines=5)
    x, y, lengths = make_dataset("pvlmnist", None, seed=1, images=images, labels=labels,
                                 max_black_lines=5)
    index = torch.tensor([7, 3, 30])
    batch = data.batch(index)
    assert torch.equal(batch.x, x[index]) and torch.equal(batch.lengths, lengths[index])


# ------------------------------------------------------------------------ errors
def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(ValueError, match="copy_first.*denoising.*plmnist.*psmnist.*pvlmnist"):
        make_dataset("copy_last", 10)


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"\['seq_len', 'forget'\]"):
        make_dataset("denoising", 10, seq_length=20)


@pytest.mark.parametrize("bad", [{"seq_len": 0}, {"seq_len": 2.5}])
def test_bad_values_raise(bad):
    with pytest.raises(ValueError, match="seq_len"):
        make_dataset("copy_first", 10, **bad)


def test_synthetic_data_needs_a_size():
    with pytest.raises(ValueError, match="n"):
        make_dataset("copy_first", None)


def test_images_must_look_like_mnist():
    with pytest.raises(ValueError, match="28, 28"):
        make_dataset("psmnist", None, images=np.zeros((3, 27, 28), np.uint8), labels=np.zeros(3))
