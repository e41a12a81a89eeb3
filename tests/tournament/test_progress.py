"""The progress bar: counts, the per-game ETA, and what it prints where."""

from __future__ import annotations

import io

from shaping.tournament.progress import Progress, format_duration


def test_eta_uses_per_game_means_and_parallel_workers():
    progress = Progress(
        total=10,
        stored=2,
        remaining={"ipd": 4, "coin": 4},
        parallel=2,
        stream=io.StringIO(),
        interactive=False,
    )
    assert progress.eta() is None
    progress.finished("ipd", "ipd a vs b", 1.0, None)
    # coin has no finished match yet: it is estimated at the overall mean (1 s)
    assert progress.eta() == (3 * 1.0 + 4 * 1.0) / 2
    progress.finished("coin", "coin a vs b", 9.0, None)
    assert progress.eta() == (3 * 1.0 + 3 * 9.0) / 2
    assert progress.line().startswith("4/10 matches   40%  ETA 0:00:15")


def test_terminal_bar_redraws_in_place_and_logs_print_lines():
    terminal = io.StringIO()
    bar = Progress(
        total=2, stored=0, remaining={"ipd": 2}, parallel=1, stream=terminal, interactive=True
    )
    bar.started(["ipd x vs y", "ipd y vs x"])
    assert "now: ipd x vs y (+1 more)" in terminal.getvalue()
    bar.finished("ipd", "ipd x vs y", 0.5, "MatchDiverged: boom")
    bar.close()
    text = terminal.getvalue()
    assert text.startswith("\r[") and "failed: ipd x vs y: MatchDiverged: boom\n" in text
    assert "1/2 matches, 1 failed" in text
    log = io.StringIO()
    lines = Progress(
        total=3,
        stored=1,
        remaining={"ipd": 2},
        parallel=1,
        stream=log,
        interactive=False,
        log_interval=3600,
    )
    lines.started(["ipd a vs a"])
    lines.finished("ipd", "ipd a vs a", 0.1, None)
    lines.finished("ipd", "ipd a vs b", 0.1, None)
    assert "\r" not in log.getvalue()
    assert log.getvalue().splitlines()[-1].startswith("3/3 matches  100%")


def test_format_duration():
    assert format_duration(0) == "0:00:00" and format_duration(3725.4) == "1:02:05"


def test_a_finished_task_leaves_the_in_flight_list_before_its_result_is_reported():
    """The 'now:' label never names a task already reported as finished (it did, for the
    last artifacts of a run, when nothing new started after them)."""
    from shaping.tournament.execute import InProcessExecutor, run_tasks

    seen: list[list[int]] = []
    for task, result in run_tasks(InProcessExecutor(), lambda x: x * 10, [1, 2, 3], seen.append):
        assert result == task * 10 and task not in seen[-1]
    assert seen[-1] == []


def test_no_task_in_flight_clears_the_current_label():
    log = io.StringIO()
    progress = Progress(total=1, stored=0, remaining={}, parallel=1, stream=log, interactive=True)
    progress.started(["training x for ipd"])
    assert progress.current == "training x for ipd"
    progress.started([])
    assert progress.current == "" and "now:" not in progress.line()
