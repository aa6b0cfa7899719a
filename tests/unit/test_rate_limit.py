from shared.rate_limit import FixedWindowLimiter


def test_a_client_gets_its_allowance_per_minute_and_others_theirs() -> None:
    now = [0.0]
    limiter = FixedWindowLimiter(3, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")
    now[0] = 61.0
    assert limiter.allow("a")
