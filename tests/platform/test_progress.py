"""The training progress line (progress.py): minutes of a time budget, steps of a step schedule; a fake clock."""
from __future__ import annotations

import io

from jneusample.platform.progress import TrainProgress, bar_text, clock_text


class FakeClock:
    """A wall clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_clock_text():
    assert clock_text(105) == "1:45"
    assert clock_text(0) == "0:00"
    assert clock_text(59.6) == "1:00"
    assert clock_text(3600 + 62) == "1:01:02"
    assert clock_text(-3) == "0:00"


def test_bar_text():
    assert bar_text(0.5, width=10) == "|#####.....|"
    assert bar_text(2.0, width=4) == "|####|" and bar_text(-1.0, width=4) == "|....|"


def test_time_budget_half_done():
    """A 3.5-minute budget at 1.75 minutes: 50 %, ETA 1:45, and never the 1,000,000-step cap."""
    out = io.StringIO()
    bar = TrainProgress(1_000_000, budget_seconds=3.5 * 60, stream=out, now=FakeClock())
    bar.update(2011, 1.75 * 60, loss="0.0123", psnr="24.10", rays_s="4100")
    line = out.getvalue()
    assert line == ("train  50% |##########..........| 1.8/3.5 min [ETA 1:45] step 2011 loss 0.0123 psnr 24.10 "
                    "rays/s 4100\n")
    assert "1000000" not in line


def test_time_budget_counts_resumed_seconds_and_stops_at_the_budget():
    bar = TrainProgress(1_000_000, budget_seconds=600.0, stream=io.StringIO(), now=FakeClock())
    assert " 0.0/10.0 min [ETA 10:00]" in bar.line(0, 0.0, {})
    assert "  30% " in bar.line(5, 180.0, {}) and "[ETA 7:00]" in bar.line(5, 180.0, {})
    over = bar.line(9, 615.0, {})  # the last step ends a little after the budget
    assert over.startswith("train 100% ") and "10.0/10.0 min [ETA 0:00]" in over


def test_step_schedule_eta_leaves_out_the_first_step():
    """Steps as before; the rate is measured from the first update on (the compiling step is not in it)."""
    out = io.StringIO()
    bar = TrainProgress(1000, budget_seconds=None, stream=out, now=FakeClock(), interval=0.0)
    bar.update(1, 120.0)  # a slow first step: two minutes of kernel compilation
    bar.update(101, 170.0)  # then 0.5 s per step
    first, second = out.getvalue().splitlines()
    assert first == "train   0% |....................| 1/1000 steps [ETA ?]"
    assert second == "train  10% |##..................| 101/1000 steps [ETA 7:30]"


def test_redraws_are_spaced_by_the_interval():
    clock = FakeClock()
    out = io.StringIO()
    bar = TrainProgress(100, budget_seconds=None, stream=out, now=clock)  # not a terminal: 30 s apart
    bar.update(1, 1.0)
    clock.t = 10.0
    bar.update(2, 2.0)  # too soon: not written
    assert len(out.getvalue().splitlines()) == 1
    clock.t = 31.0
    bar.update(3, 3.0)
    assert len(out.getvalue().splitlines()) == 2
    clock.t = 32.0
    bar.update(4, 4.0)
    bar.close()  # the final state is always shown
    assert out.getvalue().splitlines()[-1].startswith("train   4% ") and len(out.getvalue().splitlines()) == 3
    bar.close()  # nothing new: nothing written
    assert len(out.getvalue().splitlines()) == 3


def test_terminal_rewrites_in_place():
    clock = FakeClock()
    out = Terminal()
    bar = TrainProgress(10, budget_seconds=None, stream=out, now=clock)
    bar.update(1, 1.0)
    clock.t = 1.0
    bar.update(2, 2.0)
    bar.close()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "2/10 steps" in text.split("\r")[-1]
