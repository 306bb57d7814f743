"""The score-comparison report: one self-contained HTML file (plotly.js inlined once, opens offline).

Sections, per suite (Atari: human-normalized scores across games; each classic env: raw returns):
aggregate median / IQM / mean vs frames per agent with bootstrap CI bands, final aggregates with CIs,
a per-game table of final raw scores (and HNS) beside the published no-op scores, performance
profiles, probability of improvement between agents; then the published reference (aggregates and
sources) and, for runs with training returns (Atari under sticky actions, MinAtar), the reproduction:
the reference's training curve of the same agent drawn behind ours (Dopamine's; on MinAtar Young & Tian's DQN,
digitized from their figure), and per 1M-frame iteration our mean against the reference band with a verdict,
a summary over all pairs and a flag on every run that departs from its preset (`analysis.reproduction`). How
runs are read and aligned: `analysis.runs`; the statistics: `analysis.metrics`.
"""

from __future__ import annotations

import html
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from analysis import metrics
from analysis.reference import (
    DOPAMINE_PROTOCOL,
    PUBLISHED_AGENTS,
    PUBLISHED_PROTOCOL,
    YOUNG_TIAN_PROTOCOL,
    published_hns_matrix,
    published_scores,
    published_sources,
)
from analysis.reproduction import (
    ITERATION_FRAMES,
    KNOWN_DIFFERENCES,
    REFERENCE_BANDS,
    ComparisonRow,
    compare,
    iteration_means,
    reference_curves,
    reference_suite,
    summarize,
)
from analysis.runs import Run, ScoreMatrices, group_labels, read_runs, score_matrices
from envs.games import GAMES, human_normalized_score

CURVE_STATISTICS = {"median": metrics.aggregate_median, "iqm": metrics.aggregate_iqm, "mean": metrics.aggregate_mean}
STATISTIC_TITLES = {"median": "Median", "iqm": "IQM", "mean": "Mean", "optimality_gap": "Optimality gap"}
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass(frozen=True)
class ReportOptions:
    """Bootstrap settings: `reps` replicates for final aggregates, profiles and P(X>Y); `curve_reps` per curve point."""

    reps: int = 2000
    curve_reps: int = 500
    confidence: float = 0.95
    seed: int = 0
    max_curve_points: int = 100
    profile_points: int = 101


class _Page:
    """Collects HTML sections and figures; figures get stable ids `fig-0`, `fig-1`, ..."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.num_figures = 0

    def add(self, text: str) -> None:
        self.parts.append(text)

    def figure(self, fig: go.Figure) -> None:
        fig.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 60, "b": 50})
        self.add(fig.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG,
                             div_id=f"fig-{self.num_figures}"))
        self.num_figures += 1


def _esc(value: object) -> str:
    return html.escape(str(value))


def _fmt(value: float, digits: int = 2) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _fmt_interval(interval: metrics.Interval) -> str:
    point, low, high = (float(v) for v in interval)
    return f"{_fmt(point)} <span class=ci>[{_fmt(low)}, {_fmt(high)}]</span>"


def _table(header_rows: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table class='{css}'><thead>{''.join(header_rows)}</thead><tbody>{body}</tbody></table>"


def _header(cells: Sequence[str]) -> str:
    return "<tr>" + "".join(f"<th>{c}</th>" for c in cells) + "</tr>"


def _rgba(color: str, alpha: float) -> str:
    color = color.lstrip("#")
    r, g, b = (int(color[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _band(fig: go.Figure, x: np.ndarray, low: np.ndarray, high: np.ndarray, color: str, group: str,
          **subplot: int) -> None:
    keep = np.isfinite(low) & np.isfinite(high)
    if keep.sum() < 1:
        return
    xs, lo, hi = x[keep], low[keep], high[keep]
    fig.add_trace(go.Scatter(x=np.concatenate([xs, xs[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
                             mode="lines", fillcolor=_rgba(color, 0.18), line={"width": 0}, hoverinfo="skip",
                             showlegend=False, legendgroup=group), **subplot)


def _score_name(suite: str) -> str:
    return "human-normalized score (1 = human)" if suite == "atari" else f"return ({suite})"


# -- sections ------------------------------------------------------------------------------------


def _status_section(runs: Sequence[Run], root: Path) -> str:
    labels = group_labels(runs)
    statuses = ("done", "running", "preempted", "failed", None)
    counts: dict[str, Counter] = {}
    for run in runs:
        counts.setdefault(f"{labels[run.group]} · {run.suite}", Counter())[run.status] += 1
    rows = [[_esc(name), *[str(c[s]) if c[s] else "" for s in statuses], str(sum(c.values()))]
            for name, c in sorted(counts.items())]
    text = "<h2 id=runs>Runs</h2>"
    text += _table([_header(["agent · suite", "done", "running", "preempted", "failed", "no status", "total"])], rows)
    failed = [r for r in runs if r.status == "failed"]
    if failed:
        items = "".join(f"<li><code>{_esc(_relative(r.path, root))}</code>: {_esc(r.error or 'no error recorded')}</li>"
                        for r in failed)
        text += f"<p class=bad>{len(failed)} failed run(s):</p><ul class=failed>{items}</ul>"
    unevaluated = [r for r in runs if not len(r.eval_curve)]
    if unevaluated:
        items = "".join(f"<li><code>{_esc(_relative(r.path, root))}</code> ({_esc(r.status)})</li>"
                        for r in unevaluated)
        text += f"<p>{len(unevaluated)} run(s) without any evaluation yet (left out of the scores):</p><ul>{items}</ul>"
    return text


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _curves_figure(suite: str, matrices: dict[str, ScoreMatrices], colors: dict[str, str],
                   options: ReportOptions) -> go.Figure:
    names = list(CURVE_STATISTICS)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=[STATISTIC_TITLES[n] for n in names],
                        horizontal_spacing=0.06)
    for label, m in matrices.items():
        grid = np.arange(len(m.frames))
        keep = [t for t in grid if np.isfinite(m.curve[t]).any()]
        frames = m.frames[keep].astype(np.float64)
        point = {n: np.full(len(keep), np.nan) for n in names}
        low = {n: np.full(len(keep), np.nan) for n in names}
        high = {n: np.full(len(keep), np.nan) for n in names}
        present = []
        for k, t in enumerate(keep):
            scores = m.curve[t]
            intervals = metrics.bootstrap_cis(scores, CURVE_STATISTICS, reps=options.curve_reps,
                                              confidence=options.confidence, seed=options.seed)
            for n, interval in intervals.items():
                point[n][k], low[n][k], high[n][k] = interval
            present.append(f"{int(np.isfinite(scores).sum())} runs, {int(np.isfinite(scores).any(0).sum())} games")
        for col, n in enumerate(names, start=1):
            _band(fig, frames, low[n], high[n], colors[label], label, row=1, col=col)
            fig.add_trace(go.Scatter(x=frames, y=point[n], mode="lines+markers", name=label, legendgroup=label,
                                     showlegend=col == 1, line={"color": colors[label]}, marker={"size": 4},
                                     customdata=present,
                                     hovertemplate=f"{_esc(label)}<br>frames %{{x:,}}<br>{n} %{{y:.3f}}"
                                                   "<br>%{customdata}<extra></extra>"), row=1, col=col)
    fig.update_xaxes(title_text="frames")
    fig.update_yaxes(title_text=_score_name(suite), col=1)
    fig.update_layout(height=420, title=f"Aggregate {_score_name(suite)} vs frames "
                                        f"({int(options.confidence * 100)}% stratified bootstrap CIs)")
    return fig


def _aggregates_table(suite: str, matrices: dict[str, ScoreMatrices], options: ReportOptions) -> str:
    names = ["median", "iqm", "mean"] + (["optimality_gap"] if suite == "atari" else [])
    rows = []
    for label, m in matrices.items():
        intervals = metrics.bootstrap_cis(m.final, {n: metrics.AGGREGATES[n] for n in names}, reps=options.reps,
                                          confidence=options.confidence, seed=options.seed)
        cells = [_fmt_interval(intervals[n]) for n in names]
        frames = m.final_frames[np.isfinite(m.final)]
        span = f"{frames.min():,}" if frames.min() == frames.max() else f"{frames.min():,}–{frames.max():,}"
        rows.append([_esc(label), _esc(", ".join(m.protocols)), str(int(np.isfinite(m.final).sum())),
                     str(len(m.games)), span, *cells])
    header = ["agent", "protocol", "runs × games", "games", "frames (last eval)",
              *[STATISTIC_TITLES[n] for n in names]]
    gap = "; optimality gap = mean shortfall below 1 (human)" if suite == "atari" else ""
    note = (f"<p class=note>Final scores: each run's last evaluation ({_score_name(suite)}). "
            f"Median and mean are over games of the per-game mean over runs; IQM is the 25% trimmed mean over "
            f"all runs × games{gap}. Brackets: "
            f"{int(options.confidence * 100)}% percentile CIs from {options.reps} stratified bootstrap replicates "
            f"(runs resampled within each game, seed {options.seed}).</p>")
    return _table([_header(header)], rows) + note


def _per_game_table(suite: str, matrices: dict[str, ScoreMatrices]) -> str:
    labels = list(matrices)
    games = sorted({g for m in matrices.values() for g in m.games})
    atari = suite == "atari"
    published = published_scores() if atari else {}
    top = ["<th rowspan=2>game</th>"] + [f"<th colspan={2 if atari else 1}>{_esc(label)}</th>" for label in labels]
    sub = [("<th>raw</th><th>HNS</th>" if atari else "<th>return</th>") for _ in labels]
    if atari:
        top.append(f"<th colspan={len(PUBLISHED_AGENTS)} class=published>published, no-op starts, 200M frames "
                   f"(raw, HNS below)</th>")
        sub += [f"<th class=published>{_esc(a)}</th>" for a in PUBLISHED_AGENTS]
    rows = []
    for game in games:
        row = [_esc(game)]
        for label in labels:
            m = matrices[label]
            if game not in m.games:
                row += ["–", "–"] if atari else ["–"]
                continue
            g = m.games.index(game)
            raw = m.final_raw[:, g][np.isfinite(m.final_raw[:, g])]
            title = _esc("runs: " + ", ".join(_fmt(v) for v in raw))
            cell = f"<span title='{title}'>{_fmt(float(raw.mean()), 1)}"
            cell += f"<br><span class=ci>± {_fmt(float(raw.std()), 1)} (n={len(raw)})</span></span>"
            row.append(cell)
            if atari:
                row.append(_fmt(float(np.nanmean(m.final[:, g]))))
        for agent in PUBLISHED_AGENTS if atari else ():
            score = published[agent].get(game)
            hns = human_normalized_score(game, score) if score is not None and game in GAMES else None
            row.append("–" if score is None else f"{_fmt(score, 1)}<br><span class=ci>{_fmt(hns)}</span>")
        rows.append(row)
    note = "<p class=note>Ours: mean ± std over runs of each run's last evaluation (hover a cell for every run)."
    if atari:
        note += (f" Published: {_esc(PUBLISHED_PROTOCOL)}; our runs use their own protocol and frame budget "
                 "(table above), so compare with care.")
    note += "</p>"
    return _table(["<tr>" + "".join(top) + "</tr>", "<tr>" + "".join(sub) + "</tr>"], rows, "pergame") + note


def _profile_figure(suite: str, matrices: dict[str, ScoreMatrices], colors: dict[str, str],
                    options: ReportOptions) -> go.Figure:
    finite = np.concatenate([m.final[np.isfinite(m.final)] for m in matrices.values()])
    low, high = min(0.0, float(finite.min())), float(finite.max())
    taus = np.linspace(low, high if high > low else low + 1.0, options.profile_points)
    fig = go.Figure()
    for label, m in matrices.items():
        interval = metrics.bootstrap_ci(m.final, lambda s: metrics.performance_profile(s, taus), reps=options.reps,
                                        confidence=options.confidence, seed=options.seed)
        _band(fig, taus, interval.low, interval.high, colors[label], label)
        fig.add_trace(go.Scatter(x=taus, y=interval.point, mode="lines", name=label, legendgroup=label,
                                 line={"color": colors[label]},
                                 hovertemplate=f"{_esc(label)}<br>τ %{{x:.3f}}<br>fraction %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title_text=f"τ ({_score_name(suite)})")
    fig.update_yaxes(title_text="fraction of runs × games with score > τ", range=[0, 1.02])
    fig.update_layout(height=420, title="Performance profiles (final scores)")
    return fig


def _improvement_figure(matrices: dict[str, ScoreMatrices], options: ReportOptions) -> go.Figure | None:
    labels = list(matrices)
    if len(labels) < 2:
        return None
    n = len(labels)
    point = np.full((n, n), np.nan)
    text = [["" for _ in labels] for _ in labels]
    for (i, x), (j, y) in itertools.product(enumerate(labels), repeat=2):
        if i == j:
            continue
        games = tuple(sorted(set(matrices[x].games) & set(matrices[y].games)))
        if not games:
            text[i][j] = "no common game"
            continue
        interval = metrics.bootstrap_ci_pair(matrices[x].select_games(games), matrices[y].select_games(games),
                                             metrics.probability_of_improvement, reps=options.reps,
                                             confidence=options.confidence, seed=options.seed)
        point[i, j] = float(interval.point)
        text[i][j] = f"{float(interval.point):.2f}<br>[{float(interval.low):.2f}, {float(interval.high):.2f}]"
    fig = go.Figure(go.Heatmap(z=point, x=labels, y=labels, text=text, texttemplate="%{text}", zmin=0, zmax=1,
                               colorscale="RdBu", hovertemplate="P(%{y} > %{x}) = %{z:.3f}<extra></extra>",
                               colorbar={"title": "P(row > col)"}))
    fig.update_xaxes(title_text="Y (column)")
    fig.update_yaxes(title_text="X (row)", autorange="reversed")
    fig.update_layout(height=160 + 90 * n, title="Probability of improvement P(X > Y) on the common games "
                      f"({int(options.confidence * 100)}% CIs)")
    return fig


def _published_section(our_atari_games: Sequence[str]) -> str:
    sources = published_sources()
    rows = []
    for agent in PUBLISHED_AGENTS:
        all_games, all_hns = published_hns_matrix(agent)
        cells = [_esc(agent), str(len(all_games)), _fmt(float(metrics.aggregate_median(all_hns))),
                 _fmt(float(metrics.aggregate_iqm(all_hns))), _fmt(float(metrics.aggregate_mean(all_hns)))]
        ours, ours_hns = published_hns_matrix(agent, tuple(our_atari_games))
        cells += [str(len(ours)), _fmt(float(metrics.aggregate_median(ours_hns))) if ours else "–",
                  _fmt(float(metrics.aggregate_iqm(ours_hns))) if ours else "–"]
        source = sources[agent]
        cells.append(f"<a class=source href='{_esc(source.url)}'>{_esc(source.title)}</a>")
        rows.append(cells)
    header = ["agent", "games", "median HNS", "IQM HNS", "mean HNS", "our games", "median HNS (our games)",
              "IQM HNS (our games)", "source"]
    text = "<h2 id=published>Published scores (reference)</h2>"
    text += (f"<p><b>Protocol: {_esc(PUBLISHED_PROTOCOL)}.</b> Final per-game scores from the papers' tables "
             "(the DQN column is the one the C51 paper reports), collected in the RL Database; normalized with "
             "DQN Zoo's random and human scores (human measured with 1–30 no-op starts). Means are dominated by "
             "a few games (video_pinball) and do not reproduce the papers': compare medians and IQMs.</p>")
    text += _table([_header(header)], rows)
    scores = published_scores()
    per_game = [[_esc(g), *[_fmt(scores[a][g], 1) if g in scores[a] else "–" for a in PUBLISHED_AGENTS]]
                for g in sorted(GAMES)]
    text += ("<details><summary>All 57 games, published raw scores</summary>"
             + _table([_header(["game", *PUBLISHED_AGENTS])], per_game) + "</details>")
    return text


def _binned_training_curve(runs: Sequence[Run], bin_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean over runs of each run's mean training return per `bin_frames` window, at the windows' ends."""
    per_run = [iteration_means(r.train_curve.frames, r.train_curve.values, bin_frames) for r in runs]
    windows = sorted({k for means in per_run for k in means})
    mean = [float(np.mean([m[k][0] for m in per_run if k in m])) for k in windows]
    return (np.array(windows, dtype=np.int64) + 1) * bin_frames, np.array(mean, dtype=np.float64)


def _reference_figure(runs: Sequence[Run], colors: dict[str, str], labels: dict, suite: str) -> go.Figure | None:
    """Our binned training returns in `suite` (`atari/dopamine`, `minatar/minatar`) over the reference of the
    same game and agent (`analysis.reproduction.reference_curves`): its band and, dotted, its mean."""
    ours = [r for r in runs if len(r.train_curve) and reference_suite(r) == suite]
    if not ours:
        return None
    games = sorted({r.game for r in ours})
    reference = reference_curves({(suite, r.game, r.agent) for r in ours})
    cols = min(3, len(games))
    rows = -(-len(games) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=games, vertical_spacing=min(0.3 / rows, 0.12))
    max_frames = max(r.trained_frames for r in ours)
    bin_frames = ITERATION_FRAMES if max_frames >= 2 * ITERATION_FRAMES else max(max_frames // 20, 1)
    shown: set[str] = set()
    for k, game in enumerate(games):
        row, col = k // cols + 1, k % cols + 1
        game_runs = [r for r in ours if r.game == game]
        for label in sorted({labels[r.group] for r in game_runs}):
            group = [r for r in game_runs if labels[r.group] == label]
            curve = reference.get((suite, game, group[0].agent))
            if curve is not None:
                keep = curve.frames <= max(max_frames, int(curve.frames[0]))
                frames = curve.frames[keep].astype(np.float64)
                _band(fig, frames, curve.low[keep], curve.high[keep], colors[label], curve.name, row=row, col=col)
                fig.add_trace(go.Scatter(x=frames, y=curve.mean[keep], mode="lines", name=curve.name,
                                         legendgroup=curve.name, showlegend=curve.name not in shown,
                                         line={"color": colors[label], "dash": "dot"}, opacity=0.6), row=row, col=col)
                shown.add(curve.name)
            ends, mean = _binned_training_curve(group, bin_frames)
            fig.add_trace(go.Scatter(x=ends, y=mean, mode="lines+markers", name=label, legendgroup=label,
                                     showlegend=label not in shown, line={"color": colors[label]},
                                     marker={"size": 4}), row=row, col=col)
            shown.add(label)
    fig.update_xaxes(title_text="frames")
    fig.update_yaxes(title_text="training return", col=1)
    fig.update_layout(height=320 * rows + 80, title=f"Training return (ours: mean over runs per {bin_frames:,} frames; "
                      f"reference: dotted, its mean and band: {REFERENCE_BANDS[suite]})")
    return fig


_VERDICT_CLASS = {"below": "bad", "above": "good"}


def _verdict_cell(verdict: str) -> str:
    css = _VERDICT_CLASS.get(verdict)
    return f"<span class={css}>{_esc(verdict)}</span>" if css else _esc(verdict)


def _reproduction_section(rows: Sequence[ComparisonRow]) -> str:
    """The summary over (suite, game, agent) pairs, then every iteration, then the flags."""
    summary = [[_esc(s.suite), _esc(s.game), _esc(s.agent), str(s.iterations), str(s.below), str(s.inside),
                str(s.above), f"{s.last_iteration}", _fmt(s.last_ours), f"{_fmt(s.last_reference_min)}–"
                f"{_fmt(s.last_reference_max)}", _esc(s.reference_source or "–"), _verdict_cell(s.last_verdict),
                "⚑" if s.flags else ""]
               for s in summarize(rows)]
    text = ("<p>Per 1M-frame iteration, the mean training return of the episodes that ended in it, averaged over our "
            "seeds, against the reference's band at the same iteration (the summary judges only iterations every "
            f"seed has finished). Dopamine ({_esc(DOPAMINE_PROTOCOL)}): {_esc(REFERENCE_BANDS['atari/dopamine'])}. "
            f"MinAtar <code>experiment=minatar</code> DQN ({_esc(YOUNG_TIAN_PROTOCOL)}): "
            f"{_esc(REFERENCE_BANDS['minatar/minatar'])}; rows with reference <code>young_tian_figure</code> were "
            "read off a figure, with the reading uncertainty shown. <code>experiment=minatar_rr</code> has no "
            "reference (Revisiting Rainbow's figures are not digitized).</p>")
    text += _table([_header(["suite", "game", "agent", "iterations judged", "below", "inside", "above",
                             "last iteration", "ours", "reference", "reference source", "verdict", "flag"])],
                   summary)
    detail = [[_esc(r.suite), _esc(r.game), _esc(r.agent), str(r.iteration), f"{r.frames_end:,}", _fmt(r.ours_mean),
               f"{_fmt(r.ours_min)}–{_fmt(r.ours_max)}", str(r.seeds), str(r.episodes),
               f"{_fmt(r.reference_min)}–{_fmt(r.reference_max)}", _fmt(r.reference_mean)
               + (f" <span class=ci>(read off a figure ± {_fmt(r.reference_read_uncertainty)})</span>"
                  if r.reference_read_uncertainty > 0 else ""),
               _verdict_cell(r.verdict) + ("" if r.complete else " (partial iteration)")]
              for r in rows]
    text += ("<details><summary>Every iteration</summary>" + _table([_header(
        ["suite", "game", "agent", "iteration", "frames at end", "ours (mean)", "ours (seeds min–max)", "seeds",
         "episodes", "reference min–max", "reference mean", "verdict"])], detail) + "</details>")
    suites = sorted({r.suite for r in rows} & set(KNOWN_DIFFERENCES))
    if suites:
        text += "<p>Where the presets cannot match their reference:</p><ul>" + "".join(
            f"<li>{_esc(suite)}: {_esc(note)}</li>" for suite in suites for note in KNOWN_DIFFERENCES[suite]) + "</ul>"
    flagged = sorted({(r.suite, r.game, r.agent, r.flags) for r in rows if r.flags})
    if flagged:
        text += "<p class=bad>Runs that differ from their preset or the reference's protocol:</p><ul>" + "".join(
            f"<li>{_esc(s)} {_esc(g)} {_esc(a)}: {_esc(f)}</li>" for s, g, a, f in flagged) + "</ul>"
    return text


# -- the page ------------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1400px;color:#222;
padding:0 16px}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:2em}
table{border-collapse:collapse;margin:8px 0;font-size:0.9em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}td:has(a.source){text-align:left}.ci{color:#777;font-size:0.9em}.note{color:#555;font-size:0.9em}
.published{background:#fbf6e9}.bad{color:#b00020;font-weight:bold}.good{color:#1b7f3b;font-weight:bold}
nav a{margin-right:1em}
.pergame{display:block;overflow-x:auto}
"""


def render_report(runs: Sequence[Run], root: Path, options: ReportOptions | None = None,
                  title: str = "Score comparison", comparison: Sequence[ComparisonRow] | None = None) -> str:
    """The whole HTML page for `runs` (read from `root`).

    `comparison` is the reproduction to show, by default that of `runs`; a reproduction's record can hold runs
    trained on other machines (their `runs.csv` rows), which count there though their run dirs are not here."""
    options = options or ReportOptions()
    page = _Page()
    suites = score_matrices(runs, max_points=options.max_curve_points)
    labels = group_labels(runs)
    palette = qualitative.Plotly
    colors = {label: palette[k % len(palette)] for k, label in enumerate(sorted(set(labels.values())))}
    nav = "".join(f"<a href='#suite-{_esc(s)}'>{_esc(s)}</a>" for s in suites)
    page.add(f"<h1>{_esc(title)}</h1><p>{len(runs)} run(s) under <code>{_esc(root)}</code>.</p>"
             f"<nav><a href='#runs'>runs</a>{nav}<a href='#published'>published</a></nav>")
    page.add(_status_section(runs, root))
    if not suites:
        page.add("<p class=bad>No run has an evaluation yet: nothing to aggregate.</p>")
    for suite, matrices in suites.items():
        kind = "Atari, human-normalized scores" if suite == "atari" else "raw returns"
        page.add(f"<h2 id='suite-{_esc(suite)}'>{_esc(suite)} ({kind})</h2>")
        page.add("<h3>Aggregates vs frames</h3>")
        page.figure(_curves_figure(suite, matrices, colors, options))
        page.add("<p class=note>Runs are aligned on a common frame grid: at each point a run counts with its last "
                 "evaluation at or before it, once it has trained that far; hover a point for the runs and games "
                 "it aggregates.</p>")
        page.add("<h3>Final aggregates</h3>" + _aggregates_table(suite, matrices, options))
        page.add("<h3>Per-game final scores</h3>" + _per_game_table(suite, matrices))
        page.add("<h3>Performance profiles</h3>")
        page.figure(_profile_figure(suite, matrices, colors, options))
        page.add("<h3>Probability of improvement</h3>")
        improvement = _improvement_figure(matrices, options)
        if improvement is None:
            page.add("<p class=note>Only one agent: nothing to compare.</p>")
        else:
            page.add("<p class=note>Per game, the chance that a run of X scores above a run of Y (ties count "
                     "half), averaged over the games both agents played; CIs resample both agents' runs "
                     "independently within each game.</p>")
            page.figure(improvement)
    atari_games = sorted({r.game for r in runs if r.is_atari and r.game in GAMES})
    page.add(_published_section(atari_games))
    dopamine = _reference_figure(runs, colors, labels, "atari/dopamine")
    if dopamine is not None:
        page.add(f"<h2 id=dopamine>Dopamine training curves (sticky actions)</h2><p><b>Protocol: "
                 f"{_esc(DOPAMINE_PROTOCOL)}.</b> Source: Dopamine's published baselines "
                 "(<code>baselines/atari/data/*_CNN.json</code>, JAX, Nature CNN).</p>")
        page.figure(dopamine)
    young_tian = _reference_figure(runs, colors, labels, "minatar/minatar")
    if young_tian is not None:
        page.add(f"<h2 id=young_tian>MinAtar: Young &amp; Tian's DQN curves (digitized from their figure)</h2>"
                 f"<p><b>Protocol: {_esc(YOUNG_TIAN_PROTOCOL)}.</b> Source: github.com/kenjyoung/MinAtar "
                 "<code>img/learning_curves.gif</code> (arXiv 1903.03176), read off the figure by "
                 "<code>scripts/digitize_curves.py</code> into <code>analysis/data/minatar_young_tian_dqn.csv</code>: "
                 "these are not published numbers, each carries its reading uncertainty.</p>")
        page.figure(young_tian)
    recorded = comparison is not None
    comparison = compare(runs) if comparison is None else comparison
    if comparison:
        page.add("<h2 id=reproduction>Reproduction: ours against the reference at equal frames</h2>"
                 + ("<p class=note>These tables count every run in the reproduction's record (its runs.csv), "
                    "runs trained on other machines included; the sections above show only the runs here.</p>"
                    if recorded else "")
                 + _reproduction_section(comparison))
    body = "\n".join(page.parts)
    return (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>{_esc(title)}</title>"
            f"<link rel=icon href='data:,'><style>{STYLE}</style>\n<script type='text/javascript'>{get_plotlyjs()}"
            f"</script></head>\n<body>\n{body}\n</body></html>\n")


def build_report(root: Path, output: Path, options: ReportOptions | None = None, progress: bool = True) -> Path:
    """Read every run under `root` and write the report to `output`."""
    root = Path(root)
    runs = read_runs(root, progress=progress)
    if not runs:
        raise FileNotFoundError(f"no run directory (config.yaml + metrics.jsonl) under '{root}'")
    text = render_report(runs, root, options, title=f"Score comparison: {root.resolve().name}")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    return output
