"""Preprocessing: fitted on training data, applied with the training statistics elsewhere,
checked against plain float64 NumPy transcriptions of the lecture's formulas."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lite.data import (
    Compose,
    PCAWhiten,
    PerChannelMean,
    Standardize,
    ZeroCenter,
    load_digits,
)


def rng_data(shape, seed=0, loc=3.0, scale=2.0):
    return np.random.default_rng(seed).normal(loc, scale, size=shape).astype(np.float32)


def test_zero_center():
    xtr, xva = rng_data((200, 6)), rng_data((50, 6), seed=1, loc=-1)
    zc = ZeroCenter().fit(xtr)
    out = zc.transform(xtr)
    assert out.dtype == np.float32 and np.abs(out.mean(axis=0)).max() < 1e-5
    np.testing.assert_allclose(zc.transform(xva), xva - xtr.astype(np.float64).mean(axis=0), atol=1e-5)


def test_standardize_on_digits_with_constant_pixels():
    s = load_digits()
    st_ = Standardize().fit(s.x_train)
    out = st_.transform(s.x_train)
    x64 = s.x_train.astype(np.float64)
    sd = x64.std(axis=0)
    const = x64.max(axis=0) == x64.min(axis=0)
    assert const.any()  # the digits have always-blank border pixels
    assert np.all(np.isfinite(out)) and out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0)[~const], 1, atol=1e-4)
    np.testing.assert_array_equal(out[:, const], 0)
    # validation data uses the training statistics; a feature constant in training may vary here
    want = (s.x_val - x64.mean(axis=0)) / np.where(const, 1.0, sd)
    np.testing.assert_allclose(st_.transform(s.x_val), want, rtol=1e-5, atol=1e-5)


def test_standardize_without_centering():
    xtr = rng_data((300, 4))
    out = Standardize(center=False).fit_transform(xtr)
    np.testing.assert_allclose(out, xtr / xtr.astype(np.float64).std(axis=0), rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), d=st.integers(1, 6), seed=st.integers(0, 1000), scale=st.floats(1e-2, 1e3))
def test_standardize_matches_numpy(n, d, seed, scale):
    x = rng_data((n, d), seed=seed, scale=scale)
    v = rng_data((5, d), seed=seed + 1, scale=scale)
    x64 = x.astype(np.float64)
    sd = np.where(x64.max(0) == x64.min(0), 1.0, x64.std(0))
    got = Standardize().fit(x).transform(v)
    np.testing.assert_allclose(got, (v - x64.mean(0)) / sd, rtol=1e-4, atol=1e-4 * (1 + np.abs(v / sd).max()))


def test_integer_images_become_float32():
    x = np.random.default_rng(0).integers(0, 256, size=(10, 4, 4, 3), dtype=np.uint8)
    out = ZeroCenter().fit_transform(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x - x.mean(axis=0), atol=1e-4)


def test_mean_image():
    """ZeroCenter on images subtracts the mean image (AlexNet): its mean has the shape of one image."""
    xtr, xva = rng_data((40, 5, 6, 3)), rng_data((7, 5, 6, 3), seed=2)
    mi = ZeroCenter().fit(xtr)
    assert mi.mean.shape == (5, 6, 3)
    np.testing.assert_allclose(mi.transform(xtr).mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(mi.transform(xva), xva - xtr.astype(np.float64).mean(axis=0), atol=1e-5)


@pytest.mark.parametrize("layout, axes, shape", [("NHWC", (0, 1, 2), (30, 5, 4, 3)),
                                                 ("NCHW", (0, 2, 3), (30, 3, 5, 4))])
def test_per_channel_mean(layout, axes, shape):
    rng = np.random.default_rng(0)
    xtr = (rng_data(shape) + rng.normal(0, 10, size=3).reshape([3 if i not in axes else 1 for i in range(4)]))
    pc = PerChannelMean(layout).fit(xtr)
    assert pc.mean.shape == (3,)
    np.testing.assert_allclose(pc.transform(xtr).mean(axis=axes), 0, atol=1e-4)
    other = rng_data((2, 8, 8, 3) if layout == "NHWC" else (2, 3, 8, 8), seed=4)  # other image size
    mu = xtr.astype(np.float64).mean(axis=axes, keepdims=True)
    np.testing.assert_allclose(pc.transform(other), other - mu, atol=1e-5)
    with pytest.raises(ValueError, match="4-D"):
        pc.transform(other[0])
    with pytest.raises(ValueError, match="fitted on"):
        pc.transform(np.concatenate([other, other], axis=3 if layout == "NHWC" else 1))  # 6 channels
    with pytest.raises(ValueError, match="layout"):
        PerChannelMean("HWC")


def correlated(n, seed=0):
    rng = np.random.default_rng(seed)
    mix = np.array([[3.0, 0, 0, 0], [2.0, 1.0, 0, 0], [0.5, -1.0, 0.5, 0], [0, 0, 0.2, 0.05]])
    return (rng.normal(size=(n, 4)) @ mix.T + 5.0).astype(np.float32)


def test_pca_whitening_identity_covariance():
    xtr = correlated(4000)
    out = PCAWhiten(eps=1e-8).fit_transform(xtr).astype(np.float64)
    cov = out.T @ out / len(out)
    np.testing.assert_allclose(cov, np.eye(4), atol=1e-3)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-4)


def pca_reference(xtr, x, k, whiten, eps):
    x64 = xtr.astype(np.float64)
    mu = x64.mean(axis=0)
    s, u = np.linalg.eigh((x64 - mu).T @ (x64 - mu) / len(x64))
    s, u = s[::-1][:k], u[:, ::-1][:, :k]
    rot = (x - mu) @ u
    return rot / np.sqrt(s + eps) if whiten else rot


@pytest.mark.parametrize("k, whiten", [(None, True), (2, True), (3, False)])
def test_pca_validation_matches_reference(k, whiten):
    xtr, xva = correlated(500), correlated(60, seed=1)
    p = PCAWhiten(n_components=k, whiten=whiten, eps=1e-5).fit(xtr)
    got = p.transform(xva)
    want = pca_reference(xtr, xva, k or 4, whiten, 1e-5)
    assert got.shape == want.shape and got.dtype == np.float32
    sign = np.sign((got * want).sum(axis=0))  # eigenvectors are defined up to sign
    np.testing.assert_allclose(got * sign, want, rtol=1e-3, atol=1e-3)
    assert np.all(np.diff(p.variances) <= 0)


def test_pca_zero_variance_direction_stays_finite():
    x = correlated(200)
    x[:, 3] = 7.0
    out = PCAWhiten(eps=1e-5).fit_transform(x)
    assert np.all(np.isfinite(out))
    with pytest.raises(ValueError, match="flat features"):
        PCAWhiten().fit(x.reshape(200, 2, 2))
    with pytest.raises(ValueError, match="exceeds"):
        PCAWhiten(n_components=5).fit(x)
    with pytest.raises(ValueError, match="n_components"):
        PCAWhiten(n_components=0)


@pytest.mark.parametrize("make, images", [(ZeroCenter, False), (Standardize, False),
                                          (lambda: Standardize(center=False), False), (ZeroCenter, True),
                                          (lambda: PCAWhiten(2), False), (lambda: PerChannelMean("NCHW"), True)])
def test_state_dict_roundtrip(make, images):
    t = make()
    x = rng_data((20, 3, 2, 2)) if images else rng_data((20, 4))
    t.fit(x)
    fresh = make().load_state_dict(t.state_dict())
    np.testing.assert_array_equal(fresh.transform(x), t.transform(x))
    with pytest.raises(ValueError, match="state is of type"):
        (PCAWhiten(1) if not isinstance(t, PCAWhiten) else ZeroCenter()).load_state_dict(t.state_dict())


def test_usage_errors():
    with pytest.raises(ValueError, match="not fitted"):
        ZeroCenter().transform(np.zeros((2, 3)))
    zc = ZeroCenter().fit(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"fitted on examples of shape \(3,\)"):
        zc.transform(np.zeros((2, 4)))
    with pytest.raises(TypeError, match="real-valued"):
        zc.fit(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="non-empty"):
        zc.fit(np.zeros(3))


def test_compose_fits_each_on_previous_output():
    xtr, xva = correlated(300), correlated(40, seed=3)
    pipe = Compose([Standardize(), PCAWhiten(eps=1e-8)]).fit(xtr)
    out = pipe.transform(xtr).astype(np.float64)
    np.testing.assert_allclose(out.T @ out / len(out), np.eye(4), atol=1e-3)
    again = Compose([Standardize(), PCAWhiten(eps=1e-8)]).load_state_dict(pipe.state_dict())
    np.testing.assert_array_equal(again.transform(xva), pipe.transform(xva))
