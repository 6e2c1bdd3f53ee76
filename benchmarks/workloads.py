"""The benchmark's workloads and their analytic matmul FLOPs (see benchmarks/bench.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

PARITY = {"n": 30, "k": 3, "train_size": 1200, "test_size": 5000, "lr": 3e-3,
          "weight_decay": 0.1, "beta1": 0.99, "beta2": 0.98}
MODADD = {"p": 67, "op": "add", "symmetric": True, "train_frac": 0.4, "embed": 500,
          "tie": "tied", "input_side": "factored", "output_side": "factored",
          "shared_win": True, "lr": 1e-3, "weight_decay": 1.0, "beta1": 0.9, "beta2": 0.98}


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    task: str  # "parity" or "modular"
    hidden: int
    target_torch: float | None = None  # printed target: grokjax >= this many x PyTorch
    target_mm: float | None = None  # printed target: grokjax >= this % of the matmul rate

    @property
    def label(self) -> str:
        if self.task == "parity":
            return f"parity n=30 k=3 H={self.hidden}"
        return f"mod-67 add H={self.hidden} d=500"

    def fixed(self, steps: int, log_every: int) -> dict[str, Any]:
        """The sweep file's ``[fixed]`` table of this workload."""
        base = PARITY if self.task == "parity" else MODADD
        return {"task": self.task, **base, "hidden": self.hidden, "steps": steps,
                "log_every": log_every, "optimizer": "adamw", "reg": "l2",
                "dtype": "float32", "activation": "relu", "eps": 1e-8}

    def n_train(self) -> int:
        if self.task == "parity":
            return PARITY["train_size"]
        p = MODADD["p"]
        return round(MODADD["train_frac"] * (p * (p + 1) // 2))

    def step_flops(self) -> float:
        if self.task == "parity":
            return parity_step_flops(PARITY["n"], self.hidden, PARITY["train_size"])
        return modadd_step_flops(MODADD["p"], MODADD["embed"], self.hidden, self.n_train())


WORKLOADS = {w.name: w for w in [
    Workload("parity64", "parity", 64, target_torch=8.0, target_mm=60.0),
    Workload("parity256", "parity", 256),
    Workload("modadd24", "modular", 24, target_torch=6.0),
    Workload("modadd128", "modular", 128),
]}


def parity_forward_flops(n: int, hidden: int, n_train: int) -> float:
    """x (N x D) @ W_in (D x H), then h (N x H) @ w_out (H): 2 N D H + 2 N H, D = n + 1."""
    d = n + 1
    return 2.0 * n_train * d * hidden + 2.0 * n_train * hidden


def parity_step_flops(n: int = 30, hidden: int = 64, n_train: int = 1200) -> float:
    """One training step by the 3 x forward convention (14.7 MFLOP for the defaults)."""
    return 3.0 * parity_forward_flops(n, hidden, n_train)


def modadd_forward_flops(p: int, embed: int, hidden: int, n_train: int) -> float:
    """Reassociated: E W_in (p x d x H), W_out E^T (H x d x p), then h O (N x H x p)."""
    return 2.0 * p * embed * hidden + 2.0 * hidden * embed * p + 2.0 * n_train * hidden * p


def modadd_backward_flops(p: int, embed: int, hidden: int, n_train: int) -> float:
    """Both operand gradients of each of the three products (E is trained): 2 x forward."""
    logits = 2 * (2.0 * n_train * p * hidden)  # dh = dL O^T, dO = h^T dL
    out_table = 2 * (2.0 * hidden * p * embed)  # dW_out = dO E, dE += dO^T W_out
    in_table = 2 * (2.0 * p * embed * hidden)  # dW_in = E^T dT, dE += dT W_in^T
    return logits + out_table + in_table


def modadd_step_flops(p: int = 67, embed: int = 500, hidden: int = 24, n_train: int = 911
                      ) -> float:
    """Forward + backward = 12 p d H + 6 N H p (18.4 MFLOP for the defaults)."""
    return (modadd_forward_flops(p, embed, hidden, n_train)
            + modadd_backward_flops(p, embed, hidden, n_train))
