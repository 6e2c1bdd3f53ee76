"""The Ray backend on a local 2-CPU Ray cluster started by these tests (this machine only).

Rows equal the local engine's bit for bit; an actor killed mid-chunk is replaced and every row
ends up written once; a driver interrupted (Ctrl-C) or killed leaves a folder that a re-run
completes by training only the missing runs; bad --ray values are one-line errors.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")  # the optional extra; .ci/run installs it

from grokjax import EngineOptions, backends, run_sweep, store  # noqa: E402
from grokjax.checkpoints import load_params, saved_steps  # noqa: E402
from grokjax.ray_backend import RayBackend, local_runtime_env  # noqa: E402
from grokjax.spec import load_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GROKJAX_QUIET": "1"}
SPEC = """
[sweep]
seeds = 2
data_seeds = "per_seed"
[fixed]
task = "parity"
n = 8
k = 2
hidden = 8
test_size = 64
steps = {steps}
log_every = 50
train_size = 32
[grid]
weight_decay = [0.0, 0.3, 1.0]
[engine]
flush_rows = 1
"""
# Sized like sweeps/parity_quick.toml (n 30, hidden 32, 1,000 / 1,750 sequences): XLA splits
# matmuls of this size by thread, so an actor that is not pinned to one core, as the local
# workers are, gives other floats (a tiny model would hide that).
QUICK_SPEC = """
[sweep]
seeds = 2
data_seeds = "per_seed"
[fixed]
task = "parity"
n = 30
k = 3
hidden = 32
test_size = 500
steps = 300
log_every = 50
lr = 3e-3
[grid]
weight_decay = [0.01, 1.0]
train_size = [1000, 1750]
"""
VOLATILE = {"wall_time_s", "created_at"}  # provenance that differs between any two runs


@pytest.fixture(scope="session")
def ray_cluster():
    """One local 2-CPU cluster for the session (its start can time out under heavy CPU load:
    retried once), its session files in a short temp folder; shut down at the end."""
    temp = tempfile.mkdtemp(prefix="gjray", dir="/tmp")  # unix socket paths must be short
    for attempt in range(2):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                     configure_logging=False, _temp_dir=temp, runtime_env=local_runtime_env())
            break
        except Exception:
            ray.shutdown()
            if attempt:
                raise
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


def _spec(tmp_path, steps):
    p = tmp_path / "tiny.toml"
    p.write_text(textwrap.dedent(SPEC.format(steps=steps)))
    return p


def _local(spec_file, out):
    """The local default on CPU: a worker pinned to each core (2 here)."""
    run_sweep(load_spec(spec_file), out, options=EngineOptions(workers=2), quiet=True,
              report=False)
    return pd.read_parquet(out / "runs")


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Every column but wall time, bit for bit, each run once."""
    assert a["run_id"].is_unique and b["run_id"].is_unique, "a run is doubled"
    a, b = (d.sort_values("run_id").reset_index(drop=True) for d in (a, b))
    assert list(a["run_id"]) == list(b["run_id"]), "a run is missing"
    # Settings columns of plugins other tests registered in this process only (actors load
    # just the sweep's plugins): absent on one side, null on the other.
    for d, other in ((a, b), (b, a)):
        extra = set(d.columns) - set(other.columns)
        assert all(d[c].isna().all() for c in extra), extra
    for col in sorted((set(a.columns) & set(b.columns)) - VOLATILE):
        for x, y in zip(a[col], b[col], strict=True):
            if np.ndim(x) == 0 and pd.isna(x):  # null (e.g. a step never reached)
                assert np.ndim(y) == 0 and pd.isna(y), col
            else:
                np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=col)


def _capture(monkeypatch) -> list[RayBackend]:
    made: list[RayBackend] = []
    monkeypatch.setitem(backends.BACKENDS, "ray",
                        lambda options: made.append(RayBackend(options)) or made[-1])
    return made


def test_ray_rows_equal_local_engine_bit_for_bit(ray_cluster, tmp_path, monkeypatch):
    spec_file = tmp_path / "quick.toml"
    spec_file.write_text(QUICK_SPEC)
    ref = _local(spec_file, tmp_path / "local")
    made = _capture(monkeypatch)
    rep = run_sweep(load_spec(spec_file), tmp_path / "ray",
                    options=EngineOptions(backend="ray"), quiet=True, report=False)
    assert rep.backend == "ray" and rep.n_trained == 8 and rep.workers == 2
    assert len(made[0].startup_s) == 2 and rep.startup_s > 0
    got = pd.read_parquet(tmp_path / "ray" / "runs")
    assert set(got["cpu_threads"]) == set(ref["cpu_threads"]) == {1}
    same_rows(got, ref)  # every logged curve, every step
    run = ref["run_id"].iloc[0]  # parameters came back from the actors too
    steps = saved_steps(tmp_path / "local", run)
    assert saved_steps(tmp_path / "ray", run) == steps and len(steps) > 2
    a = load_params(tmp_path / "local", run, steps[-1])
    b = load_params(tmp_path / "ray", run, steps[-1])
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert ray.is_initialized(), "a sweep on a cluster it did not start leaves it running"


def test_killing_an_actor_mid_chunk_still_writes_every_row_once(ray_cluster, tmp_path,
                                                                monkeypatch):
    spec_file, gate = _gated_spec(tmp_path, "gated_actor_kill")
    gate.touch()
    ref = _local(spec_file, tmp_path / "local")
    gate.unlink()  # each actor trains one chunk, then waits in the next: killed there
    made = _capture(monkeypatch)
    errors: list[BaseException] = []

    def sweep():
        try:
            run_sweep(load_spec(spec_file), tmp_path / "ray",
                      options=EngineOptions(backend="ray"), quiet=True, report=False)
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=sweep)
    t.start()
    deadline = time.time() + 120
    while not (made and made[0].in_flight and made[0].received):
        assert time.time() < deadline and t.is_alive(), errors or "no chunk ever started"
        time.sleep(0.02)
    actor, _ = next(iter(made[0].in_flight.values()))  # waiting at the gate, mid-chunk
    os.kill(made[0].pids[actor], signal.SIGKILL)
    gate.touch()
    t.join(timeout=180)
    assert not t.is_alive() and not errors, errors
    assert made[0].replaced == 1
    same_rows(pd.read_parquet(tmp_path / "ray" / "runs"), ref)


# A parity task whose host-side hook (run after a chunk trains, before its rows are built)
# lets each process finish one chunk and then waits for the gate file: the interrupted sweep
# below is mid-way when the signal comes, however fast or loaded the machine is.
GATED_PLUGIN = """
import dataclasses, os, time
import grokjax
from grokjax.tasks import parity

GATE = {gate!r}
_chunks = [0]

def _wait_for_gate(cfg, params_R, n):
    _chunks[0] += 1
    deadline = time.monotonic() + 600
    while _chunks[0] > 1 and not os.path.exists(GATE) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {{}}

grokjax.register(dataclasses.replace(parity.TASK, name={name!r}, run_columns=_wait_for_gate))
"""


def _gated_spec(tmp_path, name):
    gate = tmp_path / "gate"
    (tmp_path / "gated.py").write_text(GATED_PLUGIN.format(gate=str(gate), name=name))
    spec = _spec(tmp_path, 300).read_text().replace(
        'data_seeds = "per_seed"', 'data_seeds = "per_seed"\nplugins = ["gated.py"]').replace(
        'task = "parity"', f'task = "{name}"')
    (tmp_path / "gated.toml").write_text(spec)
    return tmp_path / "gated.toml", gate


def _cli(spec_file, out, *extra):
    return [sys.executable, "-m", "grokjax", "sweep", str(spec_file), "--out", str(out),
            "--no-report", "--quiet", *extra]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_or_killed_driver_then_rerun_trains_only_the_missing(
        ray_cluster, tmp_path, sig):
    """Ctrl-C on a driver that started its own cluster; kill -9 of one connected to ours."""
    spec_file, gate = _gated_spec(tmp_path, f"gated_{sig.name.lower()}")
    gate.touch()
    ref = _local(spec_file, tmp_path / "local")
    gate.unlink()  # from now on each actor trains one chunk, then waits
    out = tmp_path / "ray"
    ray_arg = ["--ray"] if sig == signal.SIGINT else ["--ray", ray_cluster]
    temp = tempfile.mkdtemp(prefix="gjray", dir="/tmp")
    # A cluster of its own keeps its session files in a temp folder; a driver connecting to
    # ours needs token auth on (ray.init enabled it) and reads the token from Ray's default
    # path, ~/.ray/auth_token (README: More than one machine).
    env = ({**ENV, "RAY_TMPDIR": temp} if sig == signal.SIGINT
           else {**ENV, "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled")})
    proc = subprocess.Popen(_cli(spec_file, out, *ray_arg), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.time() + 120
        while not store.part_files(out) and proc.poll() is None:
            assert time.time() < deadline, "the sweep made no progress"
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(sig)
        # The driver exits once it has written what it holds, killed its actors and (for
        # Ctrl-C) shut down the cluster it started: seconds, but more under a loaded CPU
        # (tests in parallel, a cold compile cache): wait for that state, bounded generously.
        try:
            _, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired as e:
            late = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr
            pytest.fail(f"the driver did not exit within 300 s of {sig.name}; its stderr:\n"
                        f"{(late or '')[-3000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
        with __import__("contextlib").suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # what the killed driver left of its cluster
        shutil.rmtree(temp, ignore_errors=True)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "interrupted" in err, err
    partial = len(pd.read_parquet(out / "runs"))
    assert 0 < partial <= 2 < len(ref)  # the chunk each of the 2 actors trained, at most
    gate.touch()
    rerun = subprocess.run(_cli(spec_file, out), env=ENV,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{partial} already done, {len(ref) - partial} trained" in rerun.stdout
    same_rows(pd.read_parquet(out / "runs"), ref)


@pytest.mark.parametrize("args,message", [
    (["--ray", " auto"], "--ray: ' auto': allowed: nothing"),
    (["--ray", "--coordinator", "h:1", "--num-processes", "2", "--process-id", "0"],
     "--ray: Ray schedules the whole sweep from one driver"),
])
def test_bad_ray_values_are_one_line_errors(tmp_path, args, message):
    out = subprocess.run(_cli(_spec(tmp_path, 100), tmp_path / "o", *args), env=ENV,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert not (tmp_path / "o").exists()


def test_engine_backend_key_is_validated(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(textwrap.dedent(SPEC.format(steps=100)) + 'backend = "slurm"\n')
    with pytest.raises(Exception, match=r"\[engine\] backend: 'slurm': allowed: local, ray"):
        load_spec(p)


def test_ctrl_c_on_the_driver_is_taken_between_chunks():
    """The driver's loop sees Ctrl-C as an event it checks after each wait (a KeyboardInterrupt
    raised inside Ray's client or the writer pool's locks could hang the shutdown); a second
    Ctrl-C interrupts at once; the previous handler is back afterwards."""
    from grokjax import ray_backend

    before = signal.getsignal(signal.SIGINT)
    with ray_backend._ctrl_c_between_chunks() as interrupted:
        os.kill(os.getpid(), signal.SIGINT)
        assert interrupted.wait(10) and interrupted.is_set()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)  # the handler raises as soon as the signal is delivered
    assert signal.getsignal(signal.SIGINT) is before
