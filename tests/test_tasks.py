"""Data generators: exact labels, split sizes, and independence from padding."""

import jax.numpy as jnp
import numpy as np
import pytest

from grokjax.tasks import make_modular_data, make_parity_data, modular_labels, pairs, parity_labels


def test_parity_labels_exact():
    bits = jnp.array([[0, 0, 0, 1], [1, 0, 0, 1], [1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1]])
    assert parity_labels(bits, 3).tolist() == [0, 1, 0, 1, 0]
    assert parity_labels(bits, 1).tolist() == [0, 1, 1, 1, 0]
    assert parity_labels(bits, 4).tolist() == [1, 0, 0, 1, 1]


def test_parity_data_shapes_labels_and_bias_column():
    d = make_parity_data(n=12, k=3, n_train=200, test_size=300, data_seed=jnp.uint32(7))
    assert d.x_train_NxD.shape == (200, 13) and d.x_test_MxD.shape == (300, 13)
    for x, y in ((d.x_train_NxD, d.y_train_N), (d.x_test_MxD, d.y_test_M)):
        x = np.asarray(x)
        assert set(np.unique(x[:, :12])) == {0.0, 1.0}
        assert np.all(x[:, 12] == 1.0)  # the constant-1 input: last row of W_in is the bias
        np.testing.assert_array_equal(np.asarray(y), x[:, :3].sum(1) % 2)
    # roughly balanced bits and labels
    assert 0.4 < float(d.x_train_NxD[:, :12].mean()) < 0.6
    assert 0.35 < float(d.y_test_M.mean()) < 0.65


def test_parity_rows_do_not_depend_on_padding_or_seed_reuse():
    small = make_parity_data(30, 3, 100, 50, jnp.uint32(3))
    big = make_parity_data(30, 3, 400, 50, jnp.uint32(3))
    np.testing.assert_array_equal(small.x_train_NxD, big.x_train_NxD[:100])
    np.testing.assert_array_equal(small.x_test_MxD, big.x_test_MxD)
    other = make_parity_data(30, 3, 100, 50, jnp.uint32(4))
    assert not np.array_equal(small.x_train_NxD, other.x_train_NxD)


@pytest.mark.parametrize("op,fn", [("add", lambda a, b, p: (a + b) % p),
                                   ("sub", lambda a, b, p: (a - b) % p),
                                   ("mul", lambda a, b, p: (a * b) % p)])
def test_modular_labels(op, fn):
    a, b = pairs(7, symmetric=False)
    assert len(a) == 49
    np.testing.assert_array_equal(np.asarray(modular_labels(a, b, 7, op)), fn(a, b, 7))
    assert modular_labels(np.int32(5), np.int32(4), 7, op) == fn(5, 4, 7)


def test_symmetric_pairs_and_split_sizes():
    a, b = pairs(67, symmetric=True)
    assert len(a) == 67 * 68 // 2 == 2278 and np.all(a <= b)
    n_train = round(0.4 * 2278)
    assert n_train == 911
    d = make_modular_data(67, "add", True, n_train, jnp.uint32(0))
    rank = np.asarray(d.rank_P)
    assert sorted(rank.tolist()) == list(range(2278))  # a permutation
    train = rank < n_train
    assert train.sum() == 911 and (~train).sum() == 2278 - 911
    # the padded train rows are exactly the pairs ranked first, in rank order
    order = np.argsort(rank)[:n_train]
    np.testing.assert_array_equal(np.asarray(d.a_train_N), np.asarray(d.a_P)[order])
    np.testing.assert_array_equal(np.asarray(d.y_train_N), (np.asarray(d.a_P)[order]
                                                            + np.asarray(d.b_P)[order]) % 67)


def test_modular_split_depends_on_data_seed_only():
    d0 = make_modular_data(11, "add", False, 50, jnp.uint32(0))
    d0b = make_modular_data(11, "add", False, 80, jnp.uint32(0))
    d1 = make_modular_data(11, "add", False, 50, jnp.uint32(1))
    np.testing.assert_array_equal(d0.rank_P, d0b.rank_P)
    np.testing.assert_array_equal(d0.a_train_N, d0b.a_train_N[:50])
    assert not np.array_equal(d0.rank_P, d1.rank_P)
