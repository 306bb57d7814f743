"""The HTML report: every section from a small sweep, the CLI, and a real render in headless Chromium."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from analysis.reference import PUBLISHED_AGENTS, PUBLISHED_PROTOCOL, published_hns_matrix
from analysis.report import build_report
from analysis.runs import read_runs, score_matrices
from tests.analysis.conftest import FAST_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts"))
FIGURE_IDS = re.compile(r'id="(fig-\d+)"')


def test_report_has_every_section(report_path, sweep_root):
    text = report_path.read_text(encoding="utf-8")
    for anchor in ("id=runs", "id='suite-atari'", "id='suite-cartpole'", "id=published", "id=dopamine",
                   "id=reproduction"):
        assert anchor in text, anchor
    for heading in ("Aggregates vs frames", "Final aggregates", "Per-game final scores", "Performance profiles",
                    "Probability of improvement", "Published scores (reference)", "Dopamine training curves"):
        assert heading in text, heading
    # 3 figures per suite (curves, profiles, P(X>Y)) and the Dopamine overlay
    assert len(FIGURE_IDS.findall(text)) == 7
    assert "<script src" not in text and "Plotly.newPlot" in text and len(text) > 3_000_000  # plotly.js inlined
    # the failed run and the run without evaluations are listed
    assert "zoo/dqn/qbert/seed2" in text and "NonFiniteError" in text and "zoo/c51/breakout/seed9" in text
    # published scores beside ours, with their protocol and sources
    assert PUBLISHED_PROTOCOL in text
    for agent in PUBLISHED_AGENTS:
        assert f"<td>{agent}</td>" in text
    assert "https://arxiv.org/abs/1806.06923" in text  # IQN's paper
    median_dqn = float(np.median(published_hns_matrix("DQN")[1]))
    assert f"<td>{median_dqn:.2f}</td>" in text  # 0.79
    # the machado runs set against Dopamine's bands, flagged for their protocol and missing preset
    assert "iterations judged" in text and "protocol machado: full action set" in text
    assert "no preset named experiment=sticky" in text and "cv2 INTER_AREA" in text
    # the real CartPole run is read with the synthetic ones
    assert "tiny/dqn" in text and "tiny/c51" in text


def test_report_numbers_come_from_the_score_matrices(report_path, sweep_root):
    text = report_path.read_text(encoding="utf-8")
    iqn = score_matrices(read_runs(sweep_root, progress=False))["atari"]["zoo/iqn [dqn_zoo]"]
    pong = iqn.games.index("pong")
    raw = iqn.final_raw[:, pong]
    assert f"{raw.mean():.1f}<br><span class=ci>± {raw.std():.1f} (n=3)" in text


def test_report_is_reproducible(report_path, sweep_root, tmp_path):
    again = build_report(sweep_root, tmp_path / "again.html", FAST_OPTIONS, progress=False)
    assert again.read_bytes() == report_path.read_bytes()


def _load_cli():
    spec = importlib.util.spec_from_file_location("report_cli", ROOT / "scripts" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_the_report_and_fails_clearly_on_an_empty_folder(sweep_root, tmp_path, capsys):
    cli = _load_cli()
    out = tmp_path / "cli.html"
    assert cli.main([str(sweep_root / "tiny"), "-o", str(out), "--reps", "20", "--curve-reps", "10",
                     "--no-progress"]) == 0
    assert "id='suite-cartpole'" in out.read_text(encoding="utf-8")
    (tmp_path / "empty").mkdir()
    assert cli.main([str(tmp_path / "empty"), "-o", str(tmp_path / "none.html")]) == 2
    assert "no run directory" in capsys.readouterr().err


# -- headless Chromium -----------------------------------------------------------------------------

ENABLE_HINT = ("install Debian's `chromium` and `chromium-driver` (apt-get install chromium chromium-driver) and the "
               "dev extra (`pip install -e .[dev]`, for selenium); REQUIRE_BROWSER_TESTS=1 makes this test mandatory")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1000")


def _browser_or_skip():
    """(chromium, chromedriver, selenium.webdriver), or a skip (a failure under REQUIRE_BROWSER_TESTS=1)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        from selenium import webdriver
    except ImportError:
        webdriver = None
    missing = [name for name, found in (("chromium", chromium), ("chromedriver", driver), ("selenium", webdriver))
               if not found]
    if missing:
        message = f"browser test needs {', '.join(missing)}: {ENABLE_HINT}"
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return chromium, driver, webdriver


PAGE_CHECK = """
const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
return {
  plotly: typeof window.Plotly === 'object',
  plots: plots.map(p => ({id: p.id, svg: p.querySelectorAll('.main-svg').length,
                          traces: (p._fullData || []).length,
                          drawn: p.querySelectorAll('.scatterlayer .trace, .heatmaplayer image').length})),
  external: performance.getEntriesByType('resource').map(r => r.name)
                .filter(n => !n.startsWith('file:') && !n.startsWith('data:')),
  height: document.documentElement.scrollHeight,
};
"""


@pytest.fixture(scope="session")
def browser_tools():
    """Checked before the report is built, so a skip costs nothing."""
    return _browser_or_skip()


def test_report_renders_in_headless_chromium(browser_tools, report_path):
    chromium, driver_path, webdriver = browser_tools
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        browser = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        try:
            browser.set_page_load_timeout(60)
            browser.get(report_path.resolve().as_uri())
            page = browser.execute_script(PAGE_CHECK)
            errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
            browser.set_window_size(1400, min(page["height"] + 50, 16000))
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            screenshot = ARTIFACTS / "report.png"
            assert browser.save_screenshot(str(screenshot))
        finally:
            browser.quit()
    assert errors == [], errors
    assert page["plotly"] and page["external"] == []  # opens offline: nothing fetched
    expected = FIGURE_IDS.findall(report_path.read_text(encoding="utf-8"))
    assert [p["id"] for p in page["plots"]] == expected
    for plot in page["plots"]:
        assert plot["svg"] >= 1 and plot["traces"] >= 1 and plot["drawn"] >= 1, plot
    assert screenshot.stat().st_size > 50_000
