"""The PyTorch column: the same work as a user would write it in PyTorch (CPU, eager).

One ``torch.nn.Module`` + ``torch.optim.AdamW`` per model, models trained one after another,
same shapes, data and loss (BCE-with-logits / cross-entropy) as grokjax, test metrics at log
steps.  The mod-add module is written the straightforward way (gather embeddings, then
multiply), not reassociated.  torch is optional: without it the column says ``TORCH_MISSING``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from benchmarks import grokjax_calls
from benchmarks.workloads import WORKLOADS

TORCH_MISSING = "n/a (pip install torch==2.13.0)"


def _torch_modules(torch):
    nn = torch.nn

    class ParityMLP(nn.Module):
        def __init__(self, d_in: int, hidden: int):
            super().__init__()
            self.w_in = nn.Linear(d_in, hidden, bias=False)  # x has a constant-1 column
            self.w_out = nn.Linear(hidden, 1, bias=False)

        def forward(self, x):
            return self.w_out(torch.relu(self.w_in(x))).squeeze(-1)

    class ModAddMLP(nn.Module):
        def __init__(self, p: int, embed: int, hidden: int):
            super().__init__()
            self.embed = nn.Embedding(p, embed)
            self.w_in = nn.Linear(embed, hidden, bias=False)
            self.w_out = nn.Linear(hidden, embed, bias=False)

        def forward(self, a, b):
            h = torch.relu(self.w_in(self.embed(a)) + self.w_in(self.embed(b)))
            return self.w_out(h) @ self.embed.weight.T  # tied unembedding

    return ParityMLP, ModAddMLP


_TORCH_DEFAULT_THREADS: dict[str, int] = {}  # torch's own default, before any change


def job_torch(workload: str, models: int, steps: int, log_every: int,
              threads: int | None = None) -> dict[str, Any]:
    """The same work as a plain sequential PyTorch loop (CPU, eager).  ``threads`` None: the
    faster of 1 thread and torch's default in a short trial."""
    try:
        import torch
    except ImportError:
        return {"missing": TORCH_MISSING}
    import torch.nn.functional as F

    w = WORKLOADS[workload]
    gj = grokjax_calls.one_model(w.task, w.fixed(steps, log_every))
    cfg = gj.config
    t = {k: torch.from_numpy(v) for k, v in gj.data().items()}
    ParityMLP, ModAddMLP = _torch_modules(torch)

    if w.task == "parity":
        def make():
            return ParityMLP(cfg["n"] + 1, w.hidden)

        def loss_fn(model):
            return F.binary_cross_entropy_with_logits(model(t["x_train"]), t["y_train"])

        def evaluate(model):
            with torch.no_grad():
                out = {}
                for split, x, y in (("train", t["x_train"], t["y_train"]),
                                    ("test", t["x_test"], t["y_test"])):
                    z = model(x)
                    out[split] = (F.binary_cross_entropy_with_logits(z, y).item(),
                                  ((z > 0).float() == y).float().mean().item())
                return out
    else:
        a, b, y = t["a_train"].long(), t["b_train"].long(), t["y_train"].long()
        a_all, b_all, y_all = t["a_all"].long(), t["b_all"].long(), t["y_all"].long()
        is_train = t["is_train"]

        def make():
            return ModAddMLP(cfg["p"], cfg["embed"], w.hidden)

        def loss_fn(model):
            return F.cross_entropy(model(a, b), y)

        def evaluate(model):
            with torch.no_grad():
                logits = model(a_all, b_all)
                loss = F.cross_entropy(logits, y_all, reduction="none")
                right = (logits.argmax(-1) == y_all).float()
                return {s: (loss[m].mean().item(), right[m].mean().item())
                        for s, m in (("train", is_train), ("test", ~is_train))}

    def train_one(seed: int, n_steps: int) -> float:
        torch.manual_seed(seed)
        model = make()
        opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], betas=(cfg["beta1"],
                                cfg["beta2"]), eps=cfg["eps"], weight_decay=cfg["weight_decay"])
        t0 = time.perf_counter()
        evaluate(model)
        for step in range(1, n_steps + 1):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model)
            loss.backward()
            opt.step()
            if step % log_every == 0:
                evaluate(model)
        return time.perf_counter() - t0

    # torch's default (one intra-op thread per core) collapses when the cores are shared with
    # other work (spinning OpenMP barriers): time a short trial with each and keep the faster.
    default = _TORCH_DEFAULT_THREADS.setdefault("n", torch.get_num_threads())
    trial = {}
    for n in sorted({1, default}) if threads is None else [threads]:
        torch.set_num_threads(n)
        k = max(1, min(steps, 3 * log_every) // 2)
        trial[n] = k / train_one(0, k) if threads is None and default > 1 else float("nan")
    best = max(trial, key=lambda n: trial[n] if math.isfinite(trial[n]) else 0.0)
    torch.set_num_threads(best)
    wall = sum(train_one(seed, steps) for seed in range(models))
    return {"models": models, "steps": steps, "wall_s": wall, "threads": best,
            "threads_default": default,
            "trial_steps_per_s": {str(n): r for n, r in trial.items()},
            "version": torch.__version__, "steps_per_s": models * steps / wall}
