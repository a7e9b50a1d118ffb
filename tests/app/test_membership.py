import pytest

from app.membership import subscription


def test_a_subscription_is_pupils_times_rate():
    result = subscription(420, 1400, None, 10_000)
    assert result.subscription_pence == 588_000
    assert result.council_match_pence == 588_000
    assert not result.capped
    assert result.explanation()[0] == "420 pupils × £14.00 a pupil = £5,880.00"


def test_a_cap_limits_what_a_large_school_pays():
    result = subscription(1500, 1400, 1_250_000, 5_000)
    assert result.uncapped_pence == 2_100_000
    assert result.subscription_pence == 1_250_000
    assert result.capped
    assert result.council_match_pence == 625_000
    assert "Capped at £12,500.00 a school" in result.explanation()


def test_negative_inputs_are_refused():
    with pytest.raises(ValueError, match="negative"):
        subscription(-1, 1400, None, 0)
