"""scripts/digitize_curves.py on a figure drawn here with known values, and the shipped digitized reference
(analysis/data/minatar_young_tian_dqn.csv) against values read off Young & Tian's figure by eye."""

from __future__ import annotations

from functools import cache

import digitize_curves as dc
import numpy as np
import pytest

from analysis.reference import YOUNG_TIAN_RUNS, young_tian_curves

Y_TICKS = (0, 10, 20, 30)
GREEN = (2, 158, 115)


def _truth(frames: np.ndarray) -> np.ndarray:
    return 5 + 20 * (1 - np.exp(-np.asarray(frames) / 1e6))


def _se(frames: np.ndarray) -> np.ndarray:
    """1.2 up to 2.5M frames (the band shows), 0.1 after (hidden under the line)."""
    return np.where(np.asarray(frames) < 2.5e6, 1.2, 0.1)


@cache
def _figure(crossing: bool = False) -> np.ndarray:
    """One panel drawn by matplotlib as Young & Tian's were: a 1.5 pt line over its SE band in the same colour at
    alpha 0.2, ticks out, at 300 dpi (the figure's scale: 3.5 pt ticks ~14 px); optionally a green line across."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.2, 2.4), dpi=300)
    frames = np.linspace(0, 5e6, 2001)
    colour = np.array(dc.DQN_RGB) / 255
    ax.fill_between(frames, _truth(frames) - _se(frames), _truth(frames) + _se(frames), color=colour, alpha=0.2,
                    linewidth=0)
    ax.plot(frames, _truth(frames), color=colour, linewidth=1.5)
    if crossing:
        ax.plot([2.9e6, 3.1e6], [0, 30], color=np.array(GREEN) / 255, linewidth=1.5)
    ax.set_xlim(0, 5e6)
    ax.set_ylim(-2, 32)
    ax.set_xticks(dc.X_TICKS)
    ax.set_yticks(Y_TICKS)
    fig.tight_layout()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    # where matplotlib put data in pixel-centre (column, row) coordinates: row 0 at the top, display y up
    corners = ax.transData.transform([(0.0, 0.0), (5e6, 30.0)])
    plt.close(fig)
    return image, corners


def _exact_row(frames: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact (column, row) matplotlib drew the true curve at, at `frames`."""
    height = _figure()[0].shape[0]
    (x0, y0), (x1, y1) = corners
    column = x0 + (x1 - x0) * np.asarray(frames) / 5e6 - 0.5
    row = height - (y0 + (y1 - y0) * _truth(frames) / 30.0) - 0.5
    return column, row


def _panel() -> dc.Panel:
    height, width = _figure()[0].shape[:2]
    return dc.Panel("synthetic", (60, 10, width - 5, height - 40), Y_TICKS)


def test_axes_are_found_and_calibrated_from_the_ticks():
    image, corners = _figure()
    dark = image.max(-1) < dc.DARK_MAX
    frame = dc.find_frame(dark, _panel().box)
    xs, ys = dc.find_ticks(dark, frame)
    assert len(xs) == 6 and len(ys) == len(Y_TICKS)
    x_axis, y_axis = dc.fit_axis(xs, dc.X_TICKS), dc.fit_axis(ys, Y_TICKS)
    # within a pixel of where matplotlib placed the data (it snaps ticks to whole pixels)
    column, row = _exact_row(np.array([0.0, 5e6]), corners)
    assert np.asarray(x_axis.pixel([0.0, 5e6])) == pytest.approx(column, abs=1.0)
    assert np.asarray(y_axis.pixel(_truth(np.array([0.0, 5e6])))) == pytest.approx(row, abs=1.0)


def test_the_line_centre_is_found_within_a_pixel():
    image, corners = _figure()
    frame = dc.find_frame(image.max(-1) < dc.DARK_MAX, _panel().box)
    trace = dc.trace_curve(*dc.line_white_position(image, dc.DQN_RGB), frame)
    inner = slice(5, -5)
    frames = (trace.columns[inner] + 0.5 - corners[0][0]) / (corners[1][0] - corners[0][0]) * 5e6
    _, row = _exact_row(frames, corners)
    assert np.abs(trace.centre[inner] - row).max() <= 0.6  # centres of whole-pixel runs: halves


def test_the_curve_and_its_band_are_read_within_a_pixel():
    frames = np.arange(100_000, 4_900_001, 100_000)
    curve, trace, _, _, y_axis = dc.read_panel(_figure()[0], _panel(), frames=frames)
    pixel = abs(y_axis.scale)
    # the line within half a pixel, the axes within one (snapped ticks): the reading uncertainty covers both
    error = np.abs(curve.mean - _truth(frames))
    assert error.max() <= 2 * pixel and (error <= curve.read_uncertainty).all()
    shows, hidden = frames < 2.4e6, frames > 2.6e6
    assert not curve.se_upper_bound[shows].any() and curve.se_upper_bound[hidden].all()
    assert np.abs(curve.se[shows] - 1.2).max() <= pixel
    # under the line the SE read is an upper bound: the line's half-width and its antialiased edge
    assert (curve.se[hidden] >= 0.1).all() and (curve.se[hidden] <= 0.1 + 4 * pixel).all()
    assert (curve.read_uncertainty[hidden] <= 5 * pixel).all()  # half the line, its edge, the calibration
    assert not curve.hidden.any() and np.isfinite(trace.centre[5:-5]).all()  # the spines cover the ends


def test_a_line_drawn_over_the_curve_is_bridged_and_marked_hidden():
    frames = np.arange(100_000, 4_900_001, 50_000)
    curve, _, _, _, y_axis = dc.read_panel(_figure(crossing=True)[0], _panel(), frames=frames)
    error = np.abs(curve.mean - _truth(frames))
    assert error.max() <= 2 * abs(y_axis.scale) and (error <= curve.read_uncertainty).all()
    assert curve.hidden.any() and (curve.read_uncertainty[curve.hidden] > 0).all()


def test_ticks_that_do_not_match_their_labels_fail():
    with pytest.raises(ValueError, match="px off"):
        dc.fit_axis([10.0, 20.0, 40.0], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="at least two"):
        dc.fit_axis([10.0], [0.0])


def test_runs_and_the_picked_run():
    assert dc.runs_of(np.array([1, 2, 3, 7, 9, 10])) == [(1, 3), (7, 7), (9, 10)]
    assert dc.runs_of(np.array([], dtype=int)) == []
    assert dc.pick_run([(5, 5), (20, 24), (40, 49)]) == (40, 49)  # a stray pixel dropped, the longest kept
    assert dc.pick_run([(20, 24), (30, 33)]) == (20, 33)  # split by a line drawn across it
    assert dc.pick_run([]) is None


def test_the_shipped_reference_matches_the_figure_read_by_eye():
    curves = young_tian_curves()
    assert sorted(curves) == ["asterix", "breakout", "freeway", "seaquest", "space_invaders"]
    for curve in curves.values():
        assert (np.diff(curve.frames) > 0).all() and curve.frames[0] == 50_000 and curve.frames[-1] == 5_000_000
        assert curve.runs == YOUNG_TIAN_RUNS and (curve.read_uncertainty > 0).all() and (curve.se > 0).all()

    def at(game: str, start: float, end: float) -> np.ndarray:
        curve = curves[game]
        return curve.mean[(curve.frames >= start) & (curve.frames <= end)]

    # Read by eye on the 3038×1629 figure: Freeway DQN flat at ~5.5 until ~0.25M, ~50 from 2M on.
    assert np.abs(at("freeway", 50_000, 250_000) - 5.5).max() < 1.0
    assert np.abs(at("freeway", 2e6, 5e6) - 50.5).max() < 1.0
    # Breakout ~9 at 1M, ~10 (9.5–10.5) from 1.5M on; Seaquest ~1 until 1M, ~20 at 5M; Asterix ~15 at 2.5M;
    # Space Invaders ~43 from 3M on.
    assert np.abs(at("breakout", 1e6, 1e6) - 9.2).max() < 0.7
    assert np.abs(at("breakout", 1.5e6, 5e6) - 10).max() < 0.8
    assert np.abs(at("seaquest", 200_000, 1e6) - 0.9).max() < 0.3 and abs(at("seaquest", 5e6, 5e6)[0] - 20) < 1
    assert abs(at("asterix", 2.5e6, 2.5e6)[0] - 15) < 1
    assert np.abs(at("space_invaders", 3e6, 5e6) - 43).max() < 3


def test_the_script_writes_what_the_reference_loader_reads(tmp_path):
    """write_rows of the loaded curves reproduces the shipped CSV byte for byte: one format on both sides."""
    curves = young_tian_curves()
    written = dc.write_rows(list(curves.values()), tmp_path / "curves.csv")
    assert written.read_bytes() == dc.OUTPUT.read_bytes()
