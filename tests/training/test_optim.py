"""Learning-rate schedules: warm-up + linear decay, over steps or over a time budget."""
import numpy as np
import pytest

from jneusample.config import preset
from jneusample.training.optim import schedule_progress, warmup_linear_decay


def test_linear_decay_without_warmup_is_the_papers_poly():
    lr = warmup_linear_decay(5e-4, 5e-6)
    assert lr(0.0) == pytest.approx(5e-4)
    assert lr(0.5) == pytest.approx((5e-4 - 5e-6) * 0.5 + 5e-6)
    assert lr(1.0) == pytest.approx(5e-6)
    assert lr(2.0) == pytest.approx(5e-6)  # clamped past the end


def test_warmup_ramps_from_a_tenth_then_decays():
    lr = warmup_linear_decay(2e-3, 2e-4, warmup_fraction=0.1)
    assert lr(0.0) == pytest.approx(2e-4)
    assert lr(0.05) == pytest.approx(2e-3 * (0.1 + 0.9 * 0.5))
    assert lr(0.1) == pytest.approx(2e-3)
    assert lr(0.55) == pytest.approx((2e-3 - 2e-4) * 0.5 + 2e-4)
    assert lr(1.0) == pytest.approx(2e-4)


def test_schedule_progress_by_steps_and_by_time():
    config = preset("tiny")
    config.train.steps = 200
    assert schedule_progress(config, 50, train_seconds=1e6) == pytest.approx(0.25)  # 'steps' ignores the clock
    config.train.schedule, config.train.minutes = "time", 2.0
    assert schedule_progress(config, 10, train_seconds=60.0) == pytest.approx(0.5)
    assert schedule_progress(config, 150, train_seconds=60.0) == pytest.approx(0.75)  # whichever is further
    assert schedule_progress(config, 10, train_seconds=1000.0) == 1.0



def test_clear_moments_zeroes_only_the_given_parameters():
    from jneusample.platform.backend import jt
    from jneusample.training.optim import Adam, clear_moments

    a, b = jt.array([1.0, 2.0]), jt.array([3.0])
    optimizer = Adam([a, b], lr=0.1)
    optimizer.step((a * a).sum() + (b * b).sum())
    group = optimizer.param_groups[0]
    before_b = [group["m"][1].numpy().copy(), group["values"][1].numpy().copy()]
    assert clear_moments(optimizer, [a]) == 1
    assert not group["m"][0].numpy().any() and not group["values"][0].numpy().any()
    assert np.array_equal(group["m"][1].numpy(), before_b[0])
    assert np.array_equal(group["values"][1].numpy(), before_b[1])
    assert before_b[0].any()
    assert group["moments_cleared_at"] == [1, 0]
    with pytest.raises(TypeError):  # one step count for all: cleared moments would not start afresh
        clear_moments(jt.optim.Adam([a], lr=0.1), [a])


def _long_run(optimizer_class, lr: float = 0.1):
    """Two parameters after one step, as if 10 000 steps in (Adam's bias correction has faded), and the loss
    whose gradient is (0.5, −2) for ``a`` and 6 for ``b``."""
    from jneusample.platform.backend import jt

    a, b = jt.array([1.0, 2.0]), jt.array([3.0])
    optimizer = optimizer_class([a, b], lr=lr)
    optimizer.step((a * a).sum() + (b * b).sum())
    optimizer.n_step = 10_000
    return a, b, optimizer, lambda: (a * jt.array([0.5, -2.0])).sum() + (b * b).sum()


def test_after_clear_moments_the_next_update_is_a_fresh_adams_first():
    from jneusample.platform.backend import jt
    from jneusample.training.optim import Adam, clear_moments

    a, _, optimizer, loss = _long_run(Adam)
    clear_moments(optimizer, [a])
    before = a.numpy().copy()
    optimizer.step(loss())
    np.testing.assert_allclose(a.numpy() - before, [-0.1, 0.1], rtol=1e-5)  # lr·(−sign g), like a fresh Adam
    # the defect: with one step count, zeroed moments are bias-corrected as 10 000 steps old, ≈ 3.16·lr
    a, _, plain, loss = _long_run(jt.optim.Adam)
    for m, v in zip(plain.param_groups[0]["m"][:1], plain.param_groups[0]["values"][:1]):
        m.assign(jt.zeros_like(m))
        v.assign(jt.zeros_like(v))
    before = a.numpy().copy()
    plain.step(loss())
    assert np.abs(a.numpy() - before).min() > 3 * 0.1


def test_adam_without_cleared_moments_steps_exactly_as_jittors():
    from jneusample.platform.backend import jt
    from jneusample.training.optim import Adam

    runs = []
    for optimizer_class in (Adam, jt.optim.Adam):
        a, b, optimizer, loss = _long_run(optimizer_class)
        for _ in range(3):
            optimizer.step(loss())
        runs.append((a.numpy(), b.numpy()))
    assert all(np.array_equal(x, y) for x, y in zip(*runs))


def test_optimizer_state_round_trips_the_step_offsets():
    from jneusample.platform.backend import jt
    from jneusample.training.optim import Adam, clear_moments, load_optimizer_state, optimizer_state

    a, b, optimizer, loss = _long_run(Adam)
    clear_moments(optimizer, [b])
    optimizer.step(loss())
    state = optimizer_state(optimizer)
    assert state["n_step"] == 10_001 and state["groups"][0]["moments_cleared_at"] == [0, 10_000]
    a2, b2, resumed, _ = _long_run(Adam)
    a2.assign(a.numpy())
    b2.assign(b.numpy())
    load_optimizer_state(resumed, state)
    optimizer.step(loss())
    resumed.step((a2 * jt.array([0.5, -2.0])).sum() + (b2 * b2).sum())
    assert np.array_equal(a.numpy(), a2.numpy()) and np.array_equal(b.numpy(), b2.numpy())  # bit-exact resume
    del state["groups"][0]["moments_cleared_at"]  # a checkpoint from before the offsets existed
    load_optimizer_state(resumed, state)
    assert resumed.param_groups[0]["moments_cleared_at"] == [0, 0]
