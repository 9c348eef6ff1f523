"""``python main.py run`` keeps its worker going: restarts with back-off, logged, and never while stopping."""

from __future__ import annotations

import itertools
import logging
import signal
from typing import Any

import pytest

from cli.serve import RESTART_BACKOFF_MAX_SECONDS, STABLE_SECONDS, Supervisor

_pids = itertools.count(1000)


class FakeChild:
    """Stands in for one child process: it runs until ``exit`` is called."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.pid = next(_pids)
        self.returncode: int | None = None
        self.signals: list[int] = []

    def poll(self) -> int | None:
        return self.returncode

    def exit(self, code: int) -> None:
        self.returncode = code

    def send_signal(self, signum: int) -> None:
        self.signals.append(signum)
        self.returncode = -signum

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int | None:
        return self.returncode


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def started() -> list[FakeChild]:
    return []


@pytest.fixture
def supervisor(clock: Clock, started: list[FakeChild]) -> Supervisor:
    def start(command: str) -> Any:
        started.append(FakeChild(command))
        return started[-1]

    return Supervisor(["serve", "worker"], start=start, clock=clock, kill_group=lambda child: None)


def restarts_after(supervisor: Supervisor, clock: Clock, started: list[FakeChild]) -> float:
    """Kill the current worker and say how many seconds later a new one starts."""
    supervisor.children["worker"].exit(-9)
    began, before = clock.now, len(started)
    while len(started) == before:
        assert supervisor.check() is None
        clock.now += 0.5
    return clock.now - 0.5 - began


def test_a_worker_that_dies_is_started_again_with_a_growing_back_off_and_each_death_is_logged(
    supervisor, clock, started, caplog
):
    caplog.set_level(logging.WARNING, "hireflow.run")

    delays = [restarts_after(supervisor, clock, started) for _ in range(8)]

    assert delays == [1, 2, 4, 8, 16, 32, RESTART_BACKOFF_MAX_SECONDS, RESTART_BACKOFF_MAX_SECONDS]
    assert [child.command for child in started] == ["serve", "worker"] + ["worker"] * 8
    deaths = [r.getMessage() for r in caplog.records if "exited" in r.getMessage()]
    assert deaths[0] == "the worker exited with code -9; starting it again in 1s"
    assert len(deaths) == 8


def test_a_worker_that_ran_a_while_before_dying_is_started_again_at_once(supervisor, clock, started):
    restarts_after(supervisor, clock, started)
    restarts_after(supervisor, clock, started)
    clock.now += STABLE_SECONDS

    assert restarts_after(supervisor, clock, started) == 1


def test_the_web_server_exiting_ends_run_and_nothing_is_started_after_a_stop_signal(supervisor, clock, started):
    supervisor.children["serve"].exit(3)
    assert supervisor.check() == 3

    supervisor.children["serve"].returncode = None
    supervisor.signal(signal.SIGINT)
    supervisor.children["worker"].exit(0)
    clock.now += 100
    assert supervisor.check() is None
    assert len(started) == 2
    assert supervisor.children["serve"].signals == [signal.SIGINT]
