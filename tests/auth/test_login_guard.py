"""LoginGuard: the count of connections waiting for CONNECT, and the delay of repeated failures."""

from edgenats.auth import LoginGuard
from edgenats.auth.login_guard import ADDRESSES_KEPT, FAILURE_MEMORY


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pending_connections_are_admitted_up_to_the_bound_and_released():
    guard = LoginGuard(2, 1.0)
    assert guard.admit() and guard.admit()
    assert not guard.admit()
    guard.release()
    assert guard.admit()
    assert guard.pending == 2


def test_a_failure_is_delayed_only_when_the_address_failed_recently():
    clock = Clock()
    guard = LoginGuard(10, 0.5, clock)
    assert guard.failed("10.0.0.1") == 0.0
    assert guard.failed("10.0.0.2") == 0.0
    clock.now += 1
    assert guard.failed("10.0.0.1") == 0.5
    clock.now += FAILURE_MEMORY
    assert guard.failed("10.0.0.1") == 0.0


def test_the_address_memory_is_bounded_forgetting_the_oldest():
    guard = LoginGuard(10, 0.5, Clock())
    for index in range(ADDRESSES_KEPT + 1):
        guard.failed(f"address-{index}")
    assert guard.failed("address-0") == 0.0
    assert guard.failed(f"address-{ADDRESSES_KEPT}") == 0.5


def test_a_reload_changes_the_settings_and_keeps_the_counts():
    guard = LoginGuard(1, 0.5)
    assert guard.admit()
    guard.configure(2, 0.0)
    assert guard.admit() and not guard.admit()
    assert guard.failed("a") == 0.0 and guard.failed("a") == 0.0
