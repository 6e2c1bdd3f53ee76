"""The static (shape- and code-path-deciding) part of a run: one compiled program per value."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from grokjax.config import SETTINGS, STATIC


@dataclasses.dataclass(frozen=True)
class Static:
    """Hashable; passed to jit as a static argument.  Settings a task does not use are None.

    ``train_pad`` is the padded train-set length of the group: each run uses its own first
    ``train_size`` rows of it (a traced number), so runs with different train sizes can share
    one program.
    """

    task: str
    steps: int
    log_every: int
    dtype: str
    optimizer: str
    reg: str
    hidden: int
    activation: str
    train_pad: int
    # parity
    n: int | None = None
    k: int | None = None
    test_size: int | None = None
    # modular
    p: int | None = None
    op: str | None = None
    symmetric: bool | None = None
    embed: int | None = None
    input_side: str | None = None
    output_side: str | None = None
    tie: str | None = None
    shared_win: bool | None = None
    fixed_embed: tuple[int, ...] = ()
    loss: str | None = None
    # GPUs/TPUs multiply float32 matrices in TF32/bfloat16 by default; "highest" keeps a
    # float32 run float32 everywhere, so CPU and accelerator sweeps agree.
    matmul_precision: str = "highest"
    # Not a setting: log the task's progress measures (make bench turns it off to price them).
    progress: bool = True

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], train_pad: int | None = None) -> Static:
        kw = {k: v for k, v in cfg.items() if k in SETTINGS and SETTINGS[k].role == STATIC}
        kw["fixed_embed"] = tuple(kw.get("fixed_embed", ()))
        return cls(**kw, train_pad=train_pad or int(cfg["train_size"]))

    @property
    def jnp_dtype(self):
        return jnp.dtype(self.dtype)

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every + 1

    def check_precision(self) -> None:
        if self.dtype == "float64" and not jax.config.read("jax_enable_x64"):
            raise RuntimeError("dtype = 'float64' needs jax_enable_x64: call "
                               "jax.config.update('jax_enable_x64', True) before training "
                               "(the sweep engine does this for you)")

    def short(self) -> str:
        """A compact human label for progress output."""
        if self.task == "parity":
            core = f"parity n={self.n} k={self.k} H={self.hidden} N<={self.train_pad}"
        else:
            core = (f"mod{self.p} {self.op} H={self.hidden} d={self.embed} "
                    f"{self.input_side[0]}{self.output_side[0]} {self.tie}")
        return f"{core} {self.activation} {self.optimizer}/{self.reg} {self.dtype}"
