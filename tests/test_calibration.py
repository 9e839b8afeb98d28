"""emofuse.calibration: softmax with a temperature, NLL, ECE and fitting the temperature, by hand."""
import math

import numpy as np
import pytest

from emofuse.calibration import (
    expected_calibration_error,
    fit_temperature,
    log_softmax,
    minimise_log_t,
    negative_log_likelihood,
    softmax,
)

#: softmax of these logits is (1, 2, 3) / 6
LOGITS = [0.0, math.log(2), math.log(3)]
THIRDS = np.array([1, 2, 3]) / 6


def test_log_softmax_by_hand():
    assert log_softmax(LOGITS) == pytest.approx(np.log(THIRDS))
    assert log_softmax(LOGITS, 1.0) == pytest.approx(np.log(THIRDS))


def test_log_softmax_divides_the_logits_by_the_temperature():
    doubled = [2 * x for x in LOGITS]
    assert log_softmax(doubled, 2.0) == pytest.approx(np.log(THIRDS))
    assert log_softmax(LOGITS, 0.5) == pytest.approx(np.log(np.array([1, 4, 9]) / 14))


def test_log_softmax_works_row_by_row_at_any_scale():
    """Each row over its last axis; huge logits neither overflow nor drown a row of small ones."""
    rows = np.array([[1000 + x for x in LOGITS], LOGITS])
    out = log_softmax(rows)
    assert out.shape == (2, 3)
    assert out[0] == pytest.approx(np.log(THIRDS))
    assert out[1] == pytest.approx(np.log(THIRDS))
    cube = np.array([rows, rows - 500])  # (2, 2, 3): still over the last axis
    assert np.exp(log_softmax(cube)).sum(axis=-1) == pytest.approx(np.ones((2, 2)))
    assert log_softmax(cube)[1, 1] == pytest.approx(np.log(THIRDS))


def test_log_softmax_is_float64_whatever_the_input():
    out = log_softmax(np.array(LOGITS, dtype=np.float32))
    assert out.dtype == np.float64
    assert log_softmax(np.array([1, 2, 3])).dtype == np.float64


@pytest.mark.parametrize("temperature", [0, -1, math.inf, math.nan])
def test_log_softmax_refuses_a_temperature_that_is_not_positive_and_finite(temperature):
    with pytest.raises(ValueError) as excinfo:
        log_softmax(LOGITS, temperature)
    assert str(excinfo.value) == f"temperature must be a positive number, got {temperature}"


def test_log_softmax_accepts_temperatures_below_1():
    assert np.exp(log_softmax(LOGITS, 0.25)).sum() == pytest.approx(1.0)


def test_softmax_by_hand():
    assert softmax(LOGITS) == pytest.approx(THIRDS)
    assert softmax([2 * x for x in LOGITS], 2.0) == pytest.approx(THIRDS)
    assert softmax(np.array([LOGITS, LOGITS])) == pytest.approx(np.array([THIRDS, THIRDS]))


def test_negative_log_likelihood_by_hand():
    logits = np.array([LOGITS, LOGITS])
    assert negative_log_likelihood(logits, [2, 0]) == pytest.approx(-(math.log(3 / 6) + math.log(1 / 6)) / 2)
    assert negative_log_likelihood(logits, [1, 1]) == pytest.approx(-math.log(2 / 6))
    # at temperature 2 the (doubled) logits give the same probabilities
    assert negative_log_likelihood(2 * logits, [2, 0], 2.0) == pytest.approx(negative_log_likelihood(logits, [2, 0]))


def test_negative_log_likelihood_takes_whole_number_labels_of_any_dtype():
    logits = np.array([LOGITS, LOGITS])
    assert negative_log_likelihood(logits, np.array([2.0, 0.0])) == pytest.approx(negative_log_likelihood(logits, [2, 0]))


def _binary(z, ones, zeros):
    """`ones + zeros` examples with logits (0, z), `ones` of them labelled 1."""
    logits = np.array([[0.0, z]] * (ones + zeros))
    return logits, np.array([1] * ones + [0] * zeros)


def test_fit_temperature_finds_the_temperature_that_matches_the_frequency():
    """Logits (0, 2 ln 3) and 3 of 4 labelled 1: sigmoid(2 ln 3 / T) = 3/4 at T = 2."""
    logits, labels = _binary(2 * math.log(3), 3, 1)
    assert fit_temperature(logits, labels) == pytest.approx(2.0, abs=2e-4)


def test_fit_temperature_stays_within_its_default_bounds():
    logits, labels = _binary(0.1, 4, 0)  # always right: the sharper the better
    assert fit_temperature(logits, labels) == pytest.approx(0.05, abs=1e-3)
    logits, labels = _binary(3.0, 2, 2)  # a coin flip: the flatter the better
    assert fit_temperature(logits, labels) == pytest.approx(20.0, abs=0.01)


def test_fit_temperature_on_one_example():
    logits, labels = _binary(3.0, 1, 0)
    assert fit_temperature(logits, labels, low=0.5, high=4.0) == pytest.approx(0.5, abs=1e-3)


def test_fit_temperature_refuses_no_examples():
    with pytest.raises(ValueError) as excinfo:
        fit_temperature(np.zeros((0, 7)), [])
    assert str(excinfo.value) == "cannot fit a temperature on no examples"


@pytest.mark.parametrize("best", [0.3, 1.0, 3.0, 7.5])
def test_minimise_log_t_finds_the_minimum_to_four_decimals(best):
    result = minimise_log_t(lambda t: (math.log(t) - math.log(best)) ** 2)
    assert result == pytest.approx(best, abs=1e-3)
    assert result == round(result, 4)


def test_minimise_log_t_searches_its_bounds():
    assert minimise_log_t(lambda t: (t - 2.5) ** 2, low=1.0, high=2.0) == pytest.approx(2.0, abs=1e-3)
    assert minimise_log_t(lambda t: (t - 2.5) ** 2, low=3.0, high=4.0) == pytest.approx(3.0, abs=1e-3)
    assert minimise_log_t(lambda t: -t) == pytest.approx(20.0, abs=0.01)  # default high
    assert minimise_log_t(lambda t: t) == pytest.approx(0.05, abs=1e-4)  # default low


def test_minimise_log_t_tolerance_is_in_log_t():
    coarse = minimise_log_t(lambda t: (math.log(t) - math.log(3.0)) ** 2, tol=0.5)
    assert abs(math.log(coarse) - math.log(3.0)) < 0.5


def test_expected_calibration_error_by_hand():
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    labels = [0, 1, 1]  # right at 0.9, wrong at 0.6, right at 0.8: three bins of 15
    assert expected_calibration_error(probabilities, labels) == pytest.approx((0.1 + 0.6 + 0.2) / 3)


def test_expected_calibration_error_averages_within_a_bin():
    probabilities = np.array([[0.9, 0.1], [0.08, 0.92], [0.6, 0.4]])
    labels = [0, 0, 0]  # 0.9 right and 0.92 wrong share bin 13: |0.5 - 0.91|; 0.6 right alone
    assert expected_calibration_error(probabilities, labels) == pytest.approx(2 / 3 * 0.41 + 1 / 3 * 0.4)
    # two bins: all three in the upper one
    assert expected_calibration_error(probabilities, labels, bins=2) == pytest.approx(abs(2 / 3 - (0.9 + 0.92 + 0.6) / 3))


def test_a_confidence_of_1_falls_in_the_last_bin():
    probabilities = np.array([[1.0, 0.0], [0.96, 0.04]])
    labels = [1, 0]  # 1.0 wrong and 0.96 right share bin 14: |0.5 - 0.98|
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.48)


def test_expected_calibration_error_of_one_and_of_no_examples():
    assert expected_calibration_error(np.array([[0.7, 0.3]]), [0]) == pytest.approx(0.3)
    assert expected_calibration_error(np.zeros((0, 7)), []) == 0.0


def test_expected_calibration_error_uses_15_bins_by_default():
    probabilities = np.array([[0.6, 0.4], [0.36, 0.64]])
    labels = [0, 0]  # 0.6 right and 0.64 wrong: one bin of 15 (9.0, 9.6), two bins of 16 (9.6, 10.24)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(abs(0.5 - 0.62))
    assert expected_calibration_error(probabilities, labels, bins=16) == pytest.approx((0.4 + 0.64) / 2)


def test_only_a_confidence_of_1_is_moved_into_the_last_bin():
    probabilities = np.array([[1.0, 0.0], [0.9, 0.1]])
    labels = [1, 0]  # 1.0 wrong (bin 14), 0.9 right (bin 13): separate bins
    assert expected_calibration_error(probabilities, labels) == pytest.approx((1.0 + 0.1) / 2)


def test_fit_temperature_passes_its_tolerance_on():
    logits, labels = _binary(2 * math.log(3), 3, 1)
    coarse = fit_temperature(logits, labels, tol=0.5)
    assert coarse == minimise_log_t(lambda t: negative_log_likelihood(logits, labels, t), tol=0.5)
    assert abs(math.log(coarse) - math.log(2.0)) < 0.5
