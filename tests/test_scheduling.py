"""The xdist scheduler of conftest.py (`make test`'s two workers): which unit a worker gets, and when."""
from __future__ import annotations

import sys

import pytest

pytest.importorskip("xdist")
course_conftest = sys.modules["conftest"]  # the repository's conftest.py, loaded by pytest


class _Worker:
    def __init__(self, name: str):
        self.name, self.shutting_down, self.sent = name, False, []
        self.gateway = type("Gateway", (), {"id": name})()

    def send_runtest_some(self, indices):
        self.sent.extend(indices)

    def shutdown(self):
        self.shutting_down = True


class _Config:
    option = type("Option", (), {"loadscopereorder": True})()

    def getvalue(self, name):
        return {"tx": ["2*popen"], "numprocesses": 2, "maxprocesses": None}.get(name)


def _scheduler(collection: list[str]):
    sched = course_conftest.pytest_xdist_make_scheduler(_Config(), None)
    workers = [_Worker("gw0"), _Worker("gw1")]
    for worker in workers:
        sched.add_node(worker)
        sched.add_node_collection(worker, collection)
    sched.schedule()
    return sched, workers


def test_the_costliest_unit_goes_first_and_a_busy_worker_takes_more_only_for_its_last_test(monkeypatch):
    monkeypatch.setattr(course_conftest, "COST_S", {"tests/big.py": 170, "tests/mid.py": 40, "tests/one.py": 50})
    collection = ([f"tests/big.py::t{i}" for i in range(4)] + [f"tests/mid.py::t{i}" for i in range(4)]
                  + ["tests/one.py::t0"] + [f"tests/small.py::t{i}" for i in range(2)])  # small: 2 s a test
    sched, (gw0, gw1) = _scheduler(collection)
    assert gw0.sent == [0, 1, 2, 3]  # the costliest unit first
    # then one.py (50 s): one test, which its worker runs only once it has a next one, so mid.py (40 s) goes along
    assert gw1.sent == [8, 4, 5, 6, 7]
    assert list(sched.workqueue) == ["tests/small.py"]
    for index in (0, 1):  # gw0 completes two of its four tests: two left, it gets nothing yet (xdist's default would)
        sched.mark_test_complete(gw0, index)
    assert list(sched.workqueue) == ["tests/small.py"]
    sched.mark_test_complete(gw0, 2)  # one left: it waits for a next test, so now it gets the last unit
    assert not sched.workqueue and gw0.sent[-2:] == [9, 10]
