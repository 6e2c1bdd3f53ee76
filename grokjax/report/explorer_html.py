"""The HTML text of a run's explorer page: header, settings, summary, the task-specific
sections (containers the page's script fills) and footer."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grokjax import registry
from grokjax.report.axes import fmt_value
from grokjax.report.explorer_data import stored_key_freqs
from grokjax.report.html import self_contained_note
from grokjax.report.results import is_null, plain
from grokjax.report.theme import PHASE_COLORS

# The sections of the "bits" panel (sparse parity's W_in, w_out and per-bit norms).
BITS_SECTIONS = (
    '<section>\n<h2>Weights</h2>\n<p class="how">W_in is (n+1) × hidden: one row per '
    'input bit (the <b class="rel">relevant</b> bits, whose parity is the label, are '
    "the first k rows) and the hidden bias (the constant-1 input) as the last row; "
    "w_out is the single output row. Red positive, blue negative; move the step slider "
    "to see the distracting rows being pruned.</p>\n"
    '<div class="grid2"><div><h3>W_in</h3><div id="gx-win" class="chart"></div></div>'
    '<div><h3>w_out</h3><div id="gx-wout" class="chart"></div></div></div>\n'
    "</section>\n<section>\n<h2>Relevant vs distracting bits</h2>\n"
    '<p class="how">The L2 norm of each bit\'s W_in row at every saved snapshot (left) '
    "and at the current one (right). A generalizing network keeps its weight on the k "
    "relevant bits and prunes the rest (docs/experiments.md §3).</p>\n"
    '<div id="gx-bits" class="chart"></div>\n</section>\n')
ORDER_CONTROL = ('<label>neurons <select id="gx-order"><option value="freq">by frequency '
                 'and angle</option><option value="index">by index</option>'
                 "</select></label>")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def header_html(row: Mapping[str, Any], run_id: str, name: str, phase: str, n_steps: int,
                varying: Sequence[str], key: Sequence[int] | None) -> str:
    """Back link, title, phase, task, sweep, key frequencies (``key``: the page's, None for a
    model without a collapsed view), snapshots, summary and settings."""
    e = html.escape
    key_html = ""
    if key is not None:
        kf = stored_key_freqs(row)
        key_html = f' · key frequencies <b>{e(", ".join(map(str, kf)) or "none")}</b>'
        if not kf and key:
            key_html += (" stored (largest at the last snapshot: <b>"
                         + e(", ".join(map(str, key))) + "</b>)")
    pc = PHASE_COLORS.get(phase, "#888")
    return (
        f'<p class="back"><a href="../index.html">← phase diagram of {e(name)}</a></p>\n'
        f'<h1>Run <code>{e(str(run_id))}</code><span class="tag">grokjax run explorer</span>'
        "</h1>\n"
        f'<p class="meta"><span class="chip"><i style="background:{pc}"></i>{e(phase)}</span>'
        f" task <b>{e(str(row['task']))}</b> · sweep <b>{e(name)}</b>{key_html} · "
        f"{_plural(n_steps, 'saved snapshot')}</p>\n"
        f'<p class="summary">{summary_html(row)}</p>\n'
        f'<div class="fixed">{settings_html(row, varying)}</div>\n')


def footer_html(row: Mapping[str, Any], d: Path, run_id: str, n_steps: int) -> str:
    """Where the page comes from and what it holds."""
    e = html.escape
    ver = row.get("grokjax_version")
    return (f"Written by grokjax {e(str(ver or ''))} from <code>{e(str(d))}</code>, run "
            f"<code>{e(str(run_id))}</code>. Curves: every logged point; weights: the "
            f"{_plural(n_steps, 'saved parameter snapshot')} "
            "(<code>params/" + e(str(run_id)) + ".npz</code>). " + self_contained_note())


def params_section(gen: Mapping[str, Any]) -> str:
    """One heatmap per parameter array (the "params" panel)."""
    cells = "".join(
        f'<div><h3>{html.escape(leaf["name"])} <span class="how">'
        f'{" × ".join(map(str, leaf["shape"])) or "scalar"}'
        + (f' (its first {leaf["rows"]} rows)'
           if leaf["cut"] else "")
        + f'</span></h3><div id="gx-{leaf["key"]}" class="chart"></div></div>'
        for leaf in gen["leaves"])
    return ('<section>\n<h2>Weights</h2>\n<p class="how">Every parameter array of the model '
            "at the chosen snapshot (a vector as one row; an array of three or more axes as "
            "its first axis × the rest). Red positive, blue negative. The model offers no "
            "analysis views that would draw its weights in task terms (docs/extending.md: "
            "views).</p>\n"
            f'<div class="grid2">{cells}</div>\n</section>\n')


def sections_html(panels: Sequence[str], mod: Mapping[str, Any] | None,
                  pairs: Mapping[str, Any] | None = None,
                  gen: Mapping[str, Any] | None = None) -> str:
    """The task-specific sections of the page, one set per panel of ``panels``."""
    out = ""
    if "params" in panels:
        assert gen is not None
        out += params_section(gen)
    if "collapsed" in panels:
        assert mod is not None
        out += collapsed_sections(mod, "fourier" in panels)
    if "attention" in panels:
        assert pairs is not None
        out += ('<section>\n<h2>Attention</h2>\n<p class="how">The readout (=) position\'s '
                "attention to token a for every pair: rows a, columns b, one p × p block per "
                f"head ({pairs['heads']} heads; the rest goes to b and =). A grokked model's "
                "heads attend in a pattern periodic in a and b (Nanda et al. 2023).</p>\n"
                '<div id="gx-att" class="chart"></div>\n</section>\n')
    if "neurons" in panels:
        assert pairs is not None
        out += ('<section>\n<h2>Neuron frequencies</h2>\n<p class="how">Each MLP neuron\'s '
                "activation at the readout position over all p² pairs, in the 2D Fourier basis: "
                "its frequency is the k whose terms (cos/sin of k·a, of k·b and their products) "
                "hold most of its non-constant variance; <b>explained</b>: that share is at "
                f"least {pairs['clean']:.0%}. A grokked model's neurons cluster on its few key "
                "frequencies.</p>\n<div id=\"gx-nfreq\" class=\"chart\"></div>\n</section>\n")
    if "bits" in panels:
        out += BITS_SECTIONS
    return out


def collapsed_sections(mod: Mapping[str, Any], fourier: bool) -> str:
    """The sections of the "collapsed" panel (and of the "fourier" panel when ``fourier``); a
    model's token tables (``waves`` False: they are not the collapsed model) get their own
    titles and no logit waves."""
    if not mod.get("waves", True) and fourier:
        return _table_sections(mod)
    side_b = mod["two"]
    win = ('<div><h3>W_input (a)</h3><div id="gx-wa" class="chart"></div></div>'
           '<div><h3>W_input (b)</h3><div id="gx-wb" class="chart"></div></div>'
           if side_b else
           '<div><h3>W_input = E·W_in</h3><div id="gx-wa" class="chart"></div></div>')
    out = ('<section>\n<h2>Weights (collapsed view)</h2>\n<p class="how">The model as two '
           "matrices (docs/experiments.md §1): W_input (p × hidden: the hidden pre-activation "
           "of token "
           "a is row a, added for a and b) and W_output (hidden × p, drawn transposed so that "
           "both share the neuron axis). Red positive, blue negative."
           + (" Neurons are drawn in the order chosen above; the coloured strip marks each"
              " neuron's frequency group (faded: not a key frequency)." if fourier else "")
           + "</p>\n"
           f'<div class="grid2">{win}<div><h3>W_outputᵀ = (W_out·Eᵀ)ᵀ</h3>'
           '<div id="gx-wo" class="chart"></div></div></div>\n</section>\n')
    if not fourier:
        return out + ('<section>\n<h2>Fourier analysis</h2>\n<p class="how">Not available: '
                      f"p = {mod['p']} is even, so the real DFT basis has no sin row for "
                      "frequency p/2.</p>\n</section>\n")
    keys = ", ".join(str(k) for k in mod["key"]) or "none"
    out += (
        '<section>\n<h2>Fourier basis</h2>\n<p class="how">F is the orthonormal real DFT '
        "basis (rows: constant, then cos and sin of each frequency k = 1 … (p−1)/2). "
        "F·W_input and F·W_outputᵀ show each neuron's weights as frequencies: a Fourier-sparse "
        "(generalizing) network puts each neuron on one cos/sin pair. A neuron's frequency is "
        "the k holding its largest input-side coefficient (docs/experiments.md §5).</p>\n"
        '<div class="grid2">'
        + ('<div><h3>F·W_input (a)</h3><div id="gx-ca" class="chart"></div></div>'
           '<div><h3>F·W_input (b)</h3><div id="gx-cb" class="chart"></div></div>'
           if side_b else
           '<div><h3>F·W_input</h3><div id="gx-ca" class="chart"></div></div>')
        + '<div><h3>F·W_outputᵀ</h3><div id="gx-co" class="chart"></div></div></div>\n'
        '<h3>Norm per frequency</h3><div id="gx-fnorm" class="chart"></div>\n</section>\n'
        "<section>\n<h2>Neurons of each key frequency</h2>\n"
        f'<p class="how">Key frequencies of this run: <b>{html.escape(keys)}</b>. One panel '
        "per key frequency k: each neuron whose frequency is k is a point at its (cos k, "
        "sin k) coefficients, on the input side (top) and the output side (bottom); colour "
        "= the neuron's input-side angle. In a clean solution the output points go round "
        "the circle twice as fast as the input points (docs/experiments.md §2).</p>\n"
        '<div id="gx-star" class="chart"></div>\n</section>\n'
        "<section>\n<h2>Logits by frequency</h2>\n"
        '<div class="pair"><label>x axis <select id="gx-xaxis"><option value="phase">'
        "k·(c − answer) mod p (answer at 0)</option><option value=\"c\">the answer c"
        '</option></select></label><label>a <input type="range" id="gx-a" min="0" '
        f'max="{mod["p"] - 1}" step="1"><input type="number" id="gx-a-val" min="0" '
        f'max="{mod["p"] - 1}"></label><label>b <input type="range" id="gx-b" min="0" '
        f'max="{mod["p"] - 1}" step="1"><input type="number" id="gx-b-val" min="0" '
        f'max="{mod["p"] - 1}"></label><button type="button" id="gx-rand">random pair'
        '</button><span id="gx-pred"></span></div>\n'
        '<p class="how">For the pair (a, b): the activations of each key frequency\'s '
        "neurons times W_output give that group's contribution to the logit of every answer "
        "c (the other neurons are summed in one panel; the last panel is the model's logits). "
        "Each group's wave should be ≈ cos(2π·k·(a+b−c)/p), peaking at the right answer "
        "(green): the dashed grey line is that cosine, fitted to the group's values. Drawn "
        "against k·(c − answer) mod p (k = 1 for the last two panels) each wave is a single "
        "period with the answer at 0; against c a high frequency looks like a saw.</p>\n"
        '<div id="gx-logits" class="chart"></div>\n</section>\n')
    return out


def _table_sections(mod: Mapping[str, Any]) -> str:
    keys = ", ".join(str(k) for k in mod["key"]) or "none"
    return (
        '<section>\n<h2>Token tables</h2>\n<p class="how">The model\'s token embedding (the p '
        "number rows of W_E, p × d_model) and its unembedding W_U (drawn transposed, p × "
        "d_model): the tables the Fourier analysis reads (docs/experiments.md §5). They are "
        "not the "
        "whole model: attention and the MLP sit between them. Red positive, blue negative.</p>\n"
        '<div class="grid2"><div><h3>W_E</h3><div id="gx-wa" class="chart"></div></div>'
        '<div><h3>W_Uᵀ</h3><div id="gx-wo" class="chart"></div></div></div>\n</section>\n'
        '<section>\n<h2>Fourier basis</h2>\n<p class="how">F·W_E and F·W_Uᵀ, F the orthonormal '
        "real DFT basis (constant, then cos and sin of each k). A grokked transformer's "
        "embedding is sparse: its norm sits on a few key frequencies (Nanda et al. 2023). The "
        "norm per frequency below is summed over the d_model columns.</p>\n"
        '<div class="grid2"><div><h3>F·W_E</h3><div id="gx-ca" class="chart"></div></div>'
        '<div><h3>F·W_Uᵀ</h3><div id="gx-co" class="chart"></div></div></div>\n'
        '<h3>Norm per frequency</h3><div id="gx-fnorm" class="chart"></div>\n</section>\n'
        "<section>\n<h2>Columns of each key frequency</h2>\n"
        f'<p class="how">Key frequencies of this run: <b>{html.escape(keys)}</b>. Each column of '
        "W_E whose largest coefficient is on frequency k is a point at its (cos k, sin k) "
        "coefficients (top: W_E, bottom: W_Uᵀ).</p>\n"
        '<div id="gx-star" class="chart"></div>\n</section>\n')


def settings_html(row: Mapping[str, Any], varying: Sequence[str]) -> str:
    """The run's settings (those of its task), the sweep's varying ones highlighted."""
    e = html.escape
    items = []
    for name in registry.all_settings():  # settings other components own are null here
        if name not in row or is_null(row[name]):
            continue
        v = plain(row[name])
        cls = ' class="vary"' if name in varying else ""
        items.append(f"<code{cls}>{e(name)} = {e(fmt_value(v))}</code>")
    return " ".join(items)


def summary_html(row: Mapping[str, Any]) -> str:
    """The run's summary numbers (final accuracies, minimum losses, ...)."""
    e = html.escape

    def num(col: str, fmt: str) -> str | None:
        v = row.get(col)
        if v is None or is_null(v):
            return None
        try:
            return format(float(v), fmt)
        except (TypeError, ValueError):
            return None

    parts = []
    for label, col, fmt in (("final train acc", "final_train_acc", ".3f"),
                            ("final test acc", "final_test_acc", ".3f"),
                            ("min train loss", "min_train_loss", ".3g"),
                            ("min test loss", "min_test_loss", ".3g"),
                            ("max test/train loss", "max_loss_ratio", ".3g"),
                            ("train acc ≥ 0.9 at step", "train_acc_step_90", ",.0f"),
                            ("test acc ≥ 0.9 at step", "test_acc_step_90", ",.0f"),
                            ("training time", "wall_time_s", ".1f")):
        got = num(col, fmt)
        if got is not None:
            parts.append(f"<span>{e(label)} <b>{e(got)}{' s' if col == 'wall_time_s' else ''}"
                         "</b></span>")
    return " ".join(parts)


__all__ = ["BITS_SECTIONS", "ORDER_CONTROL", "collapsed_sections", "footer_html", "header_html",
           "sections_html", "settings_html", "summary_html"]
