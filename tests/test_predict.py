"""Early prediction of grokking (grokjax.predict, ``python -m grokjax predict``).

- the curves the features read were logged inside the compiled loop: they equal the same
  quantities computed on the host from the saved parameters at that step;
- a synthetic sweep whose label is a known function of an early feature scores AUROC ~ 1,
  shuffled labels ~ 0.5 (inside its interval);
- grouped folds never put a seed (or a data seed) on both sides; exact AUROC with ties;
- the CLI end to end on predict_parity's [quick] table, ``--write`` and the page, and the error
  paths (one ``error:`` line, exit status 2).
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grokjax import EngineOptions, load_params, load_results, run_sweep
from grokjax.cli import main
from grokjax.predict import cv, evaluate, features, metrics, models
from grokjax.spec import load_spec
from grokjax.store import ResultsError

ROOT = Path(__file__).resolve().parent.parent
ONE = EngineOptions(workers=1)

# -- 1. inside vs outside the compiled loop ----------------------------------------------------

TINY = """
[sweep]
seeds = 2
data_seeds = "per_seed"
[fixed]
{fixed}
steps = 300
log_every = 50
[checkpoints]
snapshots = 4
"""
PARITY = 'task = "parity"\nn = 10\nk = 3\nhidden = 8\ntrain_size = 64\ntest_size = 64'
MODULAR = ('task = "modular"\np = 11\ntrain_frac = 0.5\nembed = 16\nhidden = 8\n'
           'weight_decay = 1.0\nlr = 1e-2')


def _tiny(tmp_path: Path, fixed: str) -> Path:
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY.format(fixed=fixed))
    out = tmp_path / "out"
    run_sweep(load_spec(spec), out, options=ONE, quiet=True, report=False)
    return out


def _logged_and_saved(out: Path):
    """(row, step index, params) for every saved step that is also a logged step."""
    for _, row in load_results(out).iterrows():
        steps = list(np.asarray(row["step"]))
        for s in (0, 100, 200, 300):
            if s in steps:
                yield row, steps.index(s), load_params(out, row["run_id"], step=s)


def _host_norms(params) -> tuple[float, float]:
    leaves = [np.asarray(w, np.float64) for w in params.values()]
    return (float(np.sqrt(sum(np.sum(w * w) for w in leaves))),
            float(sum(np.sum(np.abs(w)) for w in leaves)))


def _host_gini(params, p: int) -> float:
    """Gini of the per-frequency norms of W_input = E W_in, by numpy's FFT (not grokjax's
    DFT basis): frequency k's norm over neurons is sqrt(2/p) * |rfft_k| summed in quadrature."""
    w_PxH = np.asarray(params["E"], np.float64) @ np.asarray(params["W_in"], np.float64)
    spec = np.abs(np.fft.rfft(w_PxH, axis=0))[1:(p - 1) // 2 + 1] * np.sqrt(2 / p)
    x = np.sort(np.sqrt(np.sum(spec ** 2, axis=1)))
    n = len(x)
    return float(2 * np.sum(np.arange(1, n + 1) * x) / (n * x.sum()) - (n + 1) / n)


def test_parity_curves_logged_in_the_loop_equal_the_host_computation(tmp_path):
    out = _tiny(tmp_path, PARITY)
    n = 0
    for row, i, params in _logged_and_saved(out):
        l2, l1 = _host_norms(params)
        rel = np.linalg.norm(np.asarray(params["W_in"], np.float64)[:3])
        dis = np.linalg.norm(np.asarray(params["W_in"], np.float64)[3:10])
        assert row["l2_norm"][i] == pytest.approx(l2, rel=1e-5)
        assert row["l1_norm"][i] == pytest.approx(l1, rel=1e-5)
        assert row["relevant_norm"][i] == pytest.approx(rel, rel=1e-5)
        assert row["distracting_norm"][i] == pytest.approx(dis, rel=1e-5)
        n += 1
    assert n >= 8  # 2 runs x 4 snapshots
    # and the features read them: the value at the cut is the log10 of the logged value
    df = load_results(out)
    table = features.extract(df, 2 / 3)  # cut at step 200
    assert set(table.cut_step_R) == {200}
    host = [np.log10(_host_norms(load_params(out, r, step=200))[0]) for r in df["run_id"]]
    np.testing.assert_allclose(table.x_RxF[:, table.names.index("l2_norm")], host, rtol=1e-5)


def test_modular_fourier_gini_logged_in_the_loop_equals_numpy_fft(tmp_path):
    out = _tiny(tmp_path, MODULAR)
    n = 0
    for row, i, params in _logged_and_saved(out):
        assert row["fourier_gini_in"][i] == pytest.approx(_host_gini(params, 11), abs=2e-5)
        assert row["l2_norm"][i] == pytest.approx(_host_norms(params)[0], rel=1e-5)
        n += 1
    assert n >= 8


# -- 2, 3. synthetic sweeps --------------------------------------------------------------------

def synthetic(n_seeds: int = 60, cells: int = 2, shuffle: bool = False, seed: int = 0
              ) -> pd.DataFrame:
    """Runs of 1,000 steps logged every 25; the slope of l2_norm before step 100 decides the
    phase: it groks iff its early decay rate is above the median (a known early feature)."""
    rng = np.random.default_rng(seed)
    step = np.arange(0, 1001, 25)
    rows = []
    for s in range(n_seeds):
        for c in range(cells):
            rate = rng.normal()
            l2 = 10 * np.exp(-0.001 * (1 + 0.5 * np.tanh(rate)) * step)
            acc = np.minimum(1.0, 0.5 + step / 400)
            rows.append({
                "run_id": f"r{s}_{c}", "seed": s, "data_seed": s, "weight_decay": [0.1, 1.0][c],
                "step": step, "train_loss": np.exp(-step / 200) + 1e-3 * rng.random(len(step)),
                "test_loss": 1 + 0.1 * rng.random(len(step)), "train_acc": acc,
                "test_acc": np.full(len(step), 0.5) + 0.01 * rng.random(len(step)),
                "l2_norm": l2, "l1_norm": 3 * l2, "rate": rate,
                "test_acc_step_90": 900, "nan_step": pd.NA})
    df = pd.DataFrame(rows)
    grok = df["rate"].to_numpy() > np.median(df["rate"])
    if shuffle:
        grok = rng.permutation(grok)
    df["phase"] = np.where(grok, "grok", "memorize")
    df["test_acc_step_90"] = pd.array(np.where(grok, 900, pd.NA), dtype="Int64")
    return df.drop(columns="rate")


def test_label_a_known_function_of_an_early_feature_scores_auroc_near_one():
    pred = evaluate(synthetic(), 0.1, cell_columns=["weight_decay"], n_boot=200)
    assert pred.n_scored == 120 and pred.n_positive == 60
    for name in ("logistic", "stumps", "d_l2_norm"):
        assert pred.score(name).auroc.value > 0.95, name
    assert pred.score("constant").auroc.value == 0.5
    assert pred.score("cell rate").auroc_cell.value == 0.5  # ties within a cell
    lead = pred.score("logistic").lead_median
    assert lead == 900 - 100  # the cut is step 100, the event step 900


def test_shuffled_labels_score_chance_inside_the_interval():
    pred = evaluate(synthetic(shuffle=True), 0.1, n_boot=300)
    for name in ("logistic", "stumps", "d_l2_norm"):
        a = pred.score(name).auroc
        assert a.low < 0.5 < a.high and abs(a.value - 0.5) < 0.15, (name, a)


def test_a_run_that_generalized_or_diverged_by_the_cut_is_not_scored():
    df = synthetic(n_seeds=10, cells=1)
    df.loc[0, "test_acc_step_90"] = 50
    df["nan_step"] = pd.array([pd.NA] * 9 + [100], dtype="Int64")
    pred = evaluate(df, 0.1, n_boot=20)
    assert pred.excluded == {"generalized by the cut": 1, "diverged by the cut": 1}
    assert pred.n_scored == 8 and np.isnan(pred.score("logistic").prob_R[[0, 9]]).all()


@pytest.mark.parametrize("change,words", [
    (lambda df: df.assign(phase="memorize"), "0 positive"),
    (lambda df: df.head(6), "6 of 6 runs are scored"),
    (lambda df: df.drop(columns=["train_loss"]), "no train_loss curve"),
    (lambda df: df.assign(seed=0, data_seed=0), "at least 2 independent seeds"),
])
def test_bad_rows_are_one_clear_error(change, words):
    with pytest.raises(ResultsError, match=words):
        evaluate(change(synthetic(n_seeds=20, cells=1)), 0.1, n_boot=10)


def test_at_and_target_are_checked():
    with pytest.raises(ResultsError, match="strictly between 0 and 1"):
        features.extract(synthetic(n_seeds=4, cells=1), 1.0)
    with pytest.raises(ResultsError, match="allowed: grok_by_end, gen_by_end, step_to_90"):
        evaluate(synthetic(n_seeds=4, cells=1), 0.1, "grok_soon")


# -- 4, 5. folds and AUROC ---------------------------------------------------------------------

def test_grouped_folds_never_put_a_seed_or_data_seed_on_both_sides():
    rng = np.random.default_rng(1)
    seed = rng.integers(0, 12, 200)
    df = pd.DataFrame({"seed": seed, "data_seed": np.where(seed == 1, 100, seed + 100),
                       "weight_decay": rng.choice([0.1, 0.3, 1.0], 200)})
    group = cv.seed_groups(df)  # seed 1's runs share seed 0's data: seeds 0 and 1 are one group
    assert len(np.unique(group)) == 11 and len(np.unique(group[seed <= 1])) == 1
    label = rng.random(200) < 0.4
    for hold in (None, cv.cells_of(df, "weight_decay")):
        for seed in range(3):
            folds = cv.splits(group, 5, hold, label, seed=seed)
            tested = np.zeros(200, int)
            for f in folds:
                assert not (f.train_R & f.test_R).any()
                for col in ("seed", "data_seed"):
                    assert not set(df[col][f.train_R]) & set(df[col][f.test_R]), col
                if hold is not None:  # the held-out value is unseen in training too
                    assert not set(hold[f.train_R]) & set(hold[f.test_R])
                tested += f.test_R
            assert (tested == 1).all()  # every run in exactly one test fold


def test_exact_auroc_with_ties_by_hand():
    score = np.array([0.1, 0.4, 0.4, 0.8, 0.4])
    label = np.array([0, 1, 0, 1, 0], bool)
    # pairs (pos, neg): 0.4>0.1, 0.4=0.4, 0.4=0.4, 0.8>0.1, 0.8>0.4, 0.8>0.4 -> 5 / 6
    assert metrics.auroc(score, label) == pytest.approx(5 / 6)
    pairs = metrics.pair_masks(label, np.zeros((1, 5), int))
    assert metrics.pair_auroc(score[None], pairs)[0] == pytest.approx(5 / 6)
    # weights: counting run 3 twice = duplicating it
    w = np.array([[1, 1, 1, 2, 1]], float)
    dup = np.append(score, 0.8), np.append(label, True)
    assert metrics.pair_auroc(score[None], pairs, w)[0] == pytest.approx(metrics.auroc(*dup))
    # pairs of different splits do not count: only (0.8 vs 0.4) and (0.4 vs 0.1) remain
    split = np.array([[0, 0, 1, 1, 1]])
    assert metrics.pair_auroc(score[None], metrics.pair_masks(label, split))[0] == 1.0
    assert np.isnan(metrics.auroc(score, np.ones(5, bool)))


def test_boosted_stumps_learn_a_threshold_logistic_a_direction():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = np.abs(x[:, 1]) > 0.7  # not monotone: only the nonlinear model gets it
    assert metrics.auroc(models.fit_stumps(x, y)(x), y) > 0.95
    assert metrics.auroc(models.fit_logistic(x, x[:, 2] > 0)(x), x[:, 2] > 0) > 0.99


# -- 6. the CLI on the quick sweep -------------------------------------------------------------

@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("predict") / "predict_parity_quick"
    r = subprocess.run([sys.executable, "-m", "grokjax", "sweep", "predict_parity", "--quick",
                        "--out", str(out), "--quiet", "--no-report"], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return out


def test_cli_predict_on_the_quick_sweep(quick, capsys):
    r = subprocess.run([sys.executable, "-m", "grokjax", "predict", str(quick), "--at", "0.1"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for words in ("logistic (model)", "stumps (model)", "cell rate (baseline)",
                  "constant (baseline)", "single features:", "AUROC [95% CI]", "lead"):
        assert words in r.stdout
    assert main(["predict", str(quick), "--at", "0.1,0.2", "--json", "--bootstrap", "50"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [o["at"] for o in out] == [0.1, 0.2]
    assert out[0]["rows"][0]["predictor"] == "logistic" and out[0]["scored"] >= 8


def test_cli_write_adds_the_column_and_the_page_shows_it(quick, capsys):
    assert main(["predict", str(quick), "--at", "0.1", "--write", "--bootstrap", "50"]) == 0
    df = load_results(quick)
    assert "predicted_grok_prob" in df.columns
    scored = df["predicted_grok_prob"].notna()
    assert scored.any() and df.loc[scored, "predicted_grok_prob"].between(0, 1).all()
    # generalized by the cut: not scored, null
    early = pd.to_numeric(df["test_acc_step_90"]).fillna(1e9) <= 1000
    assert df.loc[early, "predicted_grok_prob"].isna().all()
    html = (quick / "index.html").read_text()
    assert "predicted P(grok), out of fold" in html and '"pred"' in html
    # the part files are untouched: the rows a sweep resumes from hold no such column
    assert "predicted_grok_prob" not in pd.read_parquet(quick / "runs").columns
    again = subprocess.run([sys.executable, "-m", "grokjax", "sweep", "predict_parity",
                            "--quick", "--out", str(quick), "--quiet", "--no-report"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "0 trained" in again.stdout  # nothing to train again
    assert load_results(quick)["predicted_grok_prob"].notna().sum() == scored.sum()


@pytest.mark.browser
def test_the_page_tooltip_shows_the_prediction_in_a_browser(quick, capsys):
    """Hovering a dot of the written page shows its predicted P(grok) (headless Chromium;
    skipped without it)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import offline_context

    assert main(["predict", str(quick), "--at", "0.1", "--write", "--bootstrap", "20"]) == 0
    probs = load_results(quick).set_index("run_id")["predicted_grok_prob"]
    with offline_context() as (context, errors, blocked):
        page = context.new_page()
        page.goto((quick / "index.html").as_uri())
        page.wait_for_function("document.body.dataset.ready === '1'", timeout=60_000)
        box = page.query_selector_all("#gj-main g.dots_marks path")[0].bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("document.getElementById('gj-tip').innerText.length > 0")
        rows = dict(line.split("\t", 1) for line in page.inner_text("#gj-tip").splitlines())
        assert not errors and not blocked
    shown = rows["predicted P(grok), out of fold"]
    want = probs[rows["run id"]]
    assert shown == (f"{want:.2f}" if pd.notna(want) else
                     "not scored (generalized or diverged by the cut)")


@pytest.mark.parametrize("args,words", [
    (["--at", "0"], "--at '0'"),
    (["--at", "1.5"], "strictly between 0 and 1"),
    (["--target", "soon"], "allowed: grok_by_end, gen_by_end, step_to_90"),
    (["--model", "svm"], "allowed: logistic, stumps"),
    (["--hold-out", "lr_typo"], "--hold-out 'lr_typo': no such setting"),
    (["--at", "0.1,0.2", "--write"], "--write needs one --at"),
    (["--at", "0.9"], "scored"),  # almost every run has generalized by 90%: too few left
])
def test_cli_errors_are_one_line_exit_2(quick, capsys, args, words):
    assert main(["predict", str(quick), *args, "--bootstrap", "20"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], err


def test_cli_error_for_a_missing_folder_and_a_folder_without_rows(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "nope")]) == 2
    assert "no such results folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["predict", str(tmp_path / "empty")]) == 2
    assert "no results here" in capsys.readouterr().err


def test_the_sweep_files_say_what_they_are():
    for name in ("predict_parity", "predict_modadd"):
        text = (ROOT / "sweeps" / f"{name}.toml").read_text()
        assert "python -m grokjax predict" in text and "docs/prediction.md" in text
