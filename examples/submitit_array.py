"""The same job array from Python with submitit (``pip install submitit``; not a grokjax
dependency): one SLURM task per shard, then the report once every shard is done.

    python examples/submitit_array.py sweeps/parity_grid.toml results/parity_grid --shards 8
"""

from __future__ import annotations

import argparse

from grokjax import Shard, load_spec, run_sweep


def train_shard(spec_path: str, out: str, index: int, count: int) -> str:
    """One array task: shard ``index`` of ``count`` into the shared folder ``out``."""
    report = run_sweep(load_spec(spec_path), out, shard=Shard(index, count), quiet=True)
    return report.line()


def main() -> None:
    import submitit  # imported here: the module imports without it

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec")
    ap.add_argument("out")
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--partition", default=None)
    ap.add_argument("--cpus", type=int, default=4)
    ap.add_argument("--hours", type=int, default=4)
    args = ap.parse_args()
    executor = submitit.AutoExecutor(folder="submitit_logs")
    executor.update_parameters(timeout_min=60 * args.hours, cpus_per_task=args.cpus,
                               name="grokjax")
    if args.partition:
        executor.update_parameters(slurm_partition=args.partition)
    with executor.batch():  # one SLURM array
        jobs = [executor.submit(train_shard, args.spec, args.out, i, args.shards)
                for i in range(args.shards)]
    for job in jobs:
        print(job.result())  # raises if that shard failed: re-run it, or a plain sweep
    print(f"all {args.shards} shards done: python -m grokjax report {args.out}")


if __name__ == "__main__":
    main()
