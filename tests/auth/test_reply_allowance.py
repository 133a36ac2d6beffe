"""allow_responses bookkeeping per connection: which replies may be answered, how often, how long."""

from edgenats.auth import ReplyAllowance, ResponsePermission


class FakeClock:
    """A clock the test moves by hand (time is an input of this pure logic, not a mock of a part)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_unknown_reply_subject_is_refused():
    allowance = ReplyAllowance(ResponsePermission())
    assert not allowance.consume("_INBOX.never.delivered")


def test_default_allows_one_answer_per_delivered_request():
    allowance = ReplyAllowance(ResponsePermission())
    allowance.remember("_INBOX.a.1")
    assert allowance.consume("_INBOX.a.1")
    assert not allowance.consume("_INBOX.a.1")


def test_max_msgs_answers_then_refusal():
    allowance = ReplyAllowance(ResponsePermission(max_msgs=3))
    allowance.remember("r")
    assert [allowance.consume("r") for _ in range(4)] == [True, True, True, False]


def test_negative_max_means_unlimited():
    allowance = ReplyAllowance(ResponsePermission(max_msgs=-1))
    allowance.remember("r")
    assert all(allowance.consume("r") for _ in range(100))


def test_grant_expires():
    clock = FakeClock()
    allowance = ReplyAllowance(ResponsePermission(max_msgs=10, expires=2.0), clock)
    allowance.remember("r")
    clock.now += 1.5
    assert allowance.consume("r")
    clock.now += 1.0
    assert not allowance.consume("r")


def test_a_new_delivery_of_the_same_reply_renews_the_grant():
    allowance = ReplyAllowance(ResponsePermission())
    allowance.remember("r")
    assert allowance.consume("r")
    allowance.remember("r")
    assert allowance.consume("r")


def test_used_and_expired_grants_are_swept_from_the_table():
    clock = FakeClock()
    allowance = ReplyAllowance(ResponsePermission(max_msgs=1, expires=5.0), clock)
    allowance.remember("answered")
    allowance.remember("forgotten")
    assert allowance.consume("answered")
    clock.now += 10.0
    allowance.remember("fresh")
    assert len(allowance) == 1
    assert allowance.consume("fresh")
