"""Read Young & Tian's DQN learning curves off their figure into `analysis/data/minatar_young_tian_dqn.csv`.

    git --git-dir=<MinAtar clone>/.git show HEAD:img/learning_curves.gif > learning_curves.gif
    python scripts/digitize_curves.py learning_curves.gif --check /tmp/digitized.png

The MinAtar paper (Young & Tian 2019, arXiv 1903.03176) and its repository (github.com/kenjyoung/MinAtar,
`img/learning_curves.gif`, the README's "Results") publish DQN's curves only as a figure: five panels, y the
moving average of the returns over the last 100 episodes, x frames 0–5M, each curve the mean of 30 runs with a
shaded standard-error band (the line's colour at alpha 0.2 over white). How it is read:

- Axes: each panel's spines are the longest dark rows and columns inside a rough box around it; its tick marks
  are the dark stubs outside the bottom and left spines. A least-squares line through the tick centres against
  their labels (0..5M frames; the y labels per panel, `PANELS`) maps pixels to data; a fit off by more than one
  pixel at any tick fails the read. Matplotlib snaps ticks and spines to whole pixels but not the curves, so
  the axes may sit up to about a pixel off the data (`CALIBRATION_PX`).
- The curve: every pixel is placed on the segment from the line's RGB to white (`line_white_position`: t = 0 the
  line, t = 0.8 its alpha-0.2 band, 1 white) when within `COLOUR_TOLERANCE` of it; other agents' colours are off
  it. Per pixel column the longest run of line pixels (t ≤ `LINE_T`; `pick_run`) is the curve: its centre is the
  value. The reading uncertainty is the run's half-height (half the line's drawn width, and on steep stretches
  half the rise within the column) plus `CALIBRATION_PX`·(1 + |slope|). Columns where another agent's line
  hides ours are left out and interpolated (`hidden` true; the uncertainty there adds half the change across
  the gap).
- The SE band: from the line's run outward while pixels stay on the segment with t ≤ `BAND_T` (the band, and the
  antialiased edges between band, line and white). In a column the band reaches SE beyond the curve's extreme
  values where the line reaches half its drawn height, so SE = band half-height − line run half-height + the
  line's half-height at that slope (the panel's median run half-height, on flat stretches, times
  √(1 + slope²)). Where the band reaches no more than `BAND_MARGIN_PX` beyond the line it lies under the line
  and its edges, and that SE is only an upper bound (`se_upper_bound` true): about the line's half-width plus
  2 px.
- Output: a fixed grid (every 50k frames from 50k to 5M), linear interpolation between pixel columns (one
  column is about 7.2k frames).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.reference import YOUNG_TIAN_RUNS, DigitizedCurve

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "analysis" / "data" / "minatar_young_tian_dqn.csv"
SOURCE = "Young & Tian 2019 (arXiv 1903.03176), github.com/kenjyoung/MinAtar img/learning_curves.gif, digitized"
DQN_RGB = (1, 115, 178)  # the DQN line's colour in the GIF (its most common non-grey colour in every panel)
COLOUR_TOLERANCE = 12.0  # RGB distance from the line-to-white segment (the green band is 16 away from the blue one)
LINE_T = 0.35  # up to here towards white a pixel is the line (its core and inner antialiasing)
BAND_T = 0.9  # the band is t = 0.8 (alpha 0.2); edges between band and white reach ~0.9
BAND_MARGIN_PX = 2.5  # the line's own antialiased edge: up to 2 px beyond its core, the outer one band-tinted
CALIBRATION_PX = 1.0  # matplotlib snaps ticks to whole pixels, not the curves: up to ~1 px between axis and curve
DARK_MAX = 100  # spines and ticks are black: every channel below this
GRID_FRAMES = np.arange(50_000, 5_000_001, 50_000)


@dataclass(frozen=True)
class Panel:
    """One game's axes: a rough pixel box around it (left, top, right, bottom, found by eye on the 3038×1629
    image) and its y tick labels, bottom to top (the x labels are 0..5 million frames on every panel)."""

    game: str
    box: tuple[int, int, int, int]
    y_ticks: tuple[float, ...]


PANELS = (
    Panel("seaquest", (580, 150, 1340, 700), (0, 5, 10, 15, 20)),
    Panel("breakout", (1530, 150, 2290, 700), (0, 5, 10, 15)),
    Panel("asterix", (60, 930, 830, 1470), (0, 5, 10, 15, 20)),
    Panel("freeway", (1150, 930, 1950, 1470), (0, 10, 20, 30, 40, 50)),
    Panel("space_invaders", (2240, 930, 3020, 1470), (0, 50, 100, 150, 200)),
)
X_TICKS = (0.0, 1e6, 2e6, 3e6, 4e6, 5e6)


@dataclass(frozen=True)
class Axis:
    """A linear map from pixel coordinate to data value: `value = offset + scale · pixel`."""

    offset: float
    scale: float

    def value(self, pixel: np.ndarray | float) -> np.ndarray | float:
        return self.offset + self.scale * np.asarray(pixel, dtype=np.float64)

    def pixel(self, value: np.ndarray | float) -> np.ndarray | float:
        return (np.asarray(value, dtype=np.float64) - self.offset) / self.scale


def fit_axis(pixels: Sequence[float], values: Sequence[float], max_residual_px: float = 1.0) -> Axis:
    """The least-squares line through (tick pixel, tick label); fails if a tick sits more than
    `max_residual_px` off it (a tick missed or a label list that does not match the panel)."""
    pixels, values = np.asarray(pixels, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if len(pixels) != len(values) or len(pixels) < 2:
        raise ValueError(f"need matching tick pixels and labels, at least two; got {len(pixels)} and {len(values)}")
    scale, offset = np.polyfit(pixels, values, 1)
    axis = Axis(float(offset), float(scale))
    residual = np.abs(axis.pixel(values) - pixels).max()
    if residual > max_residual_px:
        raise ValueError(f"ticks at {pixels.tolist()} do not fit labels {values.tolist()}: {residual:.2f} px off")
    return axis


def runs_of(indices: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of consecutive integers in sorted `indices` as (first, last)."""
    if not len(indices):
        return []
    breaks = np.flatnonzero(np.diff(indices) > 1)
    starts = np.concatenate([[indices[0]], indices[breaks + 1]])
    ends = np.concatenate([indices[breaks], [indices[-1]]])
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


@dataclass(frozen=True)
class Frame:
    """A panel's spines: the inner edges of the left and bottom spine, the outer of the others (pixels)."""

    left: int
    right: int
    top: int
    bottom: int


def find_frame(dark: np.ndarray, box: tuple[int, int, int, int]) -> Frame:
    """The axes box inside `box`: the dark columns and rows covering over half of the longest one."""
    x0, y0, x1, y1 = box
    crop = dark[y0:y1, x0:x1]
    columns = runs_of(np.flatnonzero(crop.sum(0) > 0.5 * crop.sum(0).max()))
    rows = runs_of(np.flatnonzero(crop.sum(1) > 0.5 * crop.sum(1).max()))
    if len(columns) != 2 or len(rows) != 2:
        raise ValueError(f"expected two vertical and two horizontal spines in box {box}; got {columns} and {rows}")
    return Frame(x0 + columns[0][1], x0 + columns[1][1], y0 + rows[0][0], y0 + rows[1][0])


def find_ticks(dark: np.ndarray, frame: Frame, length_px: int = 6) -> tuple[list[float], list[float]]:
    """Centres of the x ticks (dark stubs `length_px` long just below the bottom spine) and of the y ticks
    (just left of the left spine), in pixels; y ticks bottom to top."""
    below = frame.bottom + 6  # past the spine's own 3–4 px
    x_strip = dark[below:below + length_px, frame.left - 8:frame.right + 8].all(0)
    xs = [(a + b) / 2 + frame.left - 8 for a, b in runs_of(np.flatnonzero(x_strip))]
    left = frame.left - 6
    y_strip = dark[frame.top - 8:frame.bottom + 8, left - length_px:left].all(1)
    ys = [(a + b) / 2 + frame.top - 8 for a, b in runs_of(np.flatnonzero(y_strip))]
    return xs, ys[::-1]


def line_white_position(image: np.ndarray, rgb: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, where it lies on the segment from `rgb` (t = 0) to white (t = 1), and its RGB distance from
    that segment: a curve drawn in `rgb`, its alpha band and their antialiased edges lie on it."""
    line = np.asarray(rgb, dtype=np.float64)
    direction = 255.0 - line
    offset = image.astype(np.float64) - line
    t = np.clip((offset @ direction) / (direction @ direction), 0.0, 1.0)
    distance = np.linalg.norm(offset - t[..., None] * direction, axis=-1)
    return t, distance


@dataclass(frozen=True)
class Trace:
    """A curve read per pixel column (NaN where hidden): its centre row, the line's half-height and the band's
    half-height (line with edges where no band shows), in pixels; `band_shows` where the band reaches past it."""

    columns: np.ndarray
    centre: np.ndarray
    half_width: np.ndarray
    band_half: np.ndarray
    band_shows: np.ndarray


def pick_run(candidates: list[tuple[int, int]], merge_gap_px: int = 8) -> tuple[int, int] | None:
    """The curve's run among a column's runs of line pixels: single stray pixels dropped when a longer run
    exists, runs split by another line drawn across ours (gaps up to `merge_gap_px`) joined, then the longest
    (only this agent is drawn in this colour, so strays are antialiasing of other colours)."""
    kept = [run for run in candidates if run[1] > run[0]] or candidates
    if not kept:
        return None
    merged = [kept[0]]
    for first, last in kept[1:]:
        if first - merged[-1][1] - 1 <= merge_gap_px:
            merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return max(merged, key=lambda run: run[1] - run[0])


def trace_curve(t: np.ndarray, distance: np.ndarray, frame: Frame, tolerance: float = COLOUR_TOLERANCE) -> Trace:
    """Read the curve whose colour `t`/`distance` describe, column by column inside `frame` (`pick_run`), its
    band walked outward from the line's run."""
    on_segment = distance <= tolerance
    line = on_segment & (t <= LINE_T)
    band = on_segment & (t <= BAND_T)
    columns = np.arange(frame.left + 1, frame.right)
    centre, half, band_half = (np.full(len(columns), np.nan) for _ in range(3))
    for k, column in enumerate(columns):
        rows = np.flatnonzero(line[frame.top + 1:frame.bottom, column]) + frame.top + 1
        run = pick_run(runs_of(rows))
        if run is None:
            continue
        first, last = run
        top, bottom = first, last
        while top - 1 > frame.top and band[top - 1, column]:
            top -= 1
        while bottom + 1 < frame.bottom and band[bottom + 1, column]:
            bottom += 1
        centre[k] = (first + last) / 2
        half[k] = (last - first + 1) / 2
        band_half[k] = (bottom - top + 1) / 2  # both sides: the larger of two would bias it up
    shows = band_half > half + BAND_MARGIN_PX
    return Trace(columns, centre, half, band_half, shows)


def to_data(trace: Trace, x_axis: Axis, y_axis: Axis, frames: np.ndarray, game: str,
            agent: str = "DQN") -> DigitizedCurve:
    """The trace of `agent` on `game` in data units on `frames`, interpolated linearly between the columns where it
    was read: the SE is an upper bound where the band hid under the line, and inside a hidden stretch the reading
    uncertainty adds half the change across it."""
    seen = np.isfinite(trace.centre)
    columns, centre = trace.columns[seen], trace.centre[seen]
    x = np.asarray(x_axis.value(columns))
    dy = abs(y_axis.scale)

    def at(values: np.ndarray) -> np.ndarray:
        return np.interp(frames, x, values)

    mean = np.asarray(y_axis.value(centre))
    slope = np.gradient(centre, columns) if len(columns) > 1 else np.zeros(len(columns))  # rows per column
    right = np.clip(np.searchsorted(x, frames), 1, len(x) - 1)
    hidden = (np.diff(columns)[right - 1] > 1) & (frames > x[0]) & (frames < x[-1])
    # a calibration error of CALIBRATION_PX in x and in y moves a value by (1 + |slope|) times it vertically
    uncertainty = ((at(trace.half_width[seen]) + CALIBRATION_PX * (1 + np.abs(at(slope)))) * dy
                   + np.where(hidden, np.abs(mean[right] - mean[right - 1]) / 2, 0.0))
    line_half = float(np.median(trace.half_width[seen]))
    vertical_half = line_half * np.hypot(1.0, slope)  # a line of slope s is √(1+s²) times taller
    se = (at(trace.band_half[seen]) - at(trace.half_width[seen]) + at(vertical_half)) * dy
    shows = at(trace.band_shows[seen].astype(np.float64)) > 0.5
    return DigitizedCurve(agent, game, frames, at(mean), se, ~shows, uncertainty, hidden, YOUNG_TIAN_RUNS)


def read_panel(image: np.ndarray, panel: Panel, rgb: Sequence[int] = DQN_RGB,
               frames: np.ndarray = GRID_FRAMES) -> tuple[DigitizedCurve, Trace, Frame, Axis, Axis]:
    """Calibrate one panel from its ticks and read the curve drawn in `rgb` on `frames`."""
    dark = image.max(axis=-1) < DARK_MAX
    frame = find_frame(dark, panel.box)
    xs, ys = find_ticks(dark, frame)
    x_axis = fit_axis(xs, X_TICKS)
    y_axis = fit_axis(ys, panel.y_ticks)
    t, distance = line_white_position(image, rgb)
    trace = trace_curve(t, distance, frame)
    return to_data(trace, x_axis, y_axis, frames, panel.game), trace, frame, x_axis, y_axis


def write_rows(curves: Sequence[DigitizedCurve], path: Path) -> Path:
    """`game,agent,frames,return_mean,return_se,se_upper_bound,read_uncertainty,hidden,source` rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["game", "agent", "frames", "return_mean", "return_se", "se_upper_bound", "read_uncertainty",
                         "hidden", "source"])
        for curve in curves:
            for k, frames in enumerate(curve.frames):
                writer.writerow([curve.game, curve.agent, int(frames), f"{curve.mean[k]:.3f}", f"{curve.se[k]:.3f}",
                                 str(bool(curve.se_upper_bound[k])).lower(), f"{curve.read_uncertainty[k]:.3f}",
                                 str(bool(curve.hidden[k])).lower(), SOURCE])
    return path


def check_figure(image: np.ndarray, readings: dict[str, tuple[DigitizedCurve, Trace, Frame, Axis, Axis]],
                 path: Path) -> Path:
    """The figure at full resolution with each grid reading drawn over it (a red dot at the value, a magenta bar
    over ±SE), to check by eye."""
    from PIL import Image, ImageDraw

    canvas = Image.fromarray(image.copy())
    draw = ImageDraw.Draw(canvas)
    for curve, _, _, x_axis, y_axis in readings.values():
        for frames, mean, se in zip(curve.frames, curve.mean, curve.se, strict=True):
            x, y = float(x_axis.pixel(frames)), float(y_axis.pixel(mean))
            draw.line([(x, float(y_axis.pixel(mean + se))), (x, float(y_axis.pixel(mean - se)))], fill=(255, 0, 255))
            draw.ellipse([(x - 1.5, y - 1.5), (x + 1.5, y + 1.5)], fill=(255, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", type=Path, help="MinAtar's img/learning_curves.gif (or a PNG of it)")
    parser.add_argument("--out", type=Path, default=OUTPUT, help=f"the CSV (default {OUTPUT.relative_to(ROOT)})")
    parser.add_argument("--check", type=Path, help="also draw the readings over the panels into this PNG")
    args = parser.parse_args(argv)
    from PIL import Image

    image = np.asarray(Image.open(args.image).convert("RGB"))
    if image.shape[:2] != (1629, 3038):
        parser.error(f"expected the 3038×1629 figure the panel boxes were found on; got {image.shape[1]}×"
                     f"{image.shape[0]}")
    readings = {panel.game: read_panel(image, panel) for panel in PANELS}
    write_rows([reading[0] for reading in readings.values()], args.out)
    for game, (curve, trace, *_) in readings.items():
        hidden = np.isnan(trace.centre).mean()
        print(f"{game:<15} columns hidden {hidden:.1%}; at 1M {curve.mean[19]:.2f} ± SE {curve.se[19]:.2f}, "
              f"at 2M {curve.mean[39]:.2f}, at 5M {curve.mean[-1]:.2f}")
    if args.check:
        check_figure(image, readings, args.check)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
