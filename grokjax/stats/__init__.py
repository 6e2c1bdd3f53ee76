"""Statistics of a results table, with intervals: "how sure is this share?", "is arm B faster
than arm A on matched seeds?" (``python -m grokjax stats``; docs/statistics.md).

* ``cell_stats(df, by)`` / ``cell_table``: per cell, n; each phase's share with its Wilson 95%
  interval; the share of runs that reach a threshold (test accuracy 0.9 by default) with its
  interval; the Kaplan-Meier median step to it (a run that never reaches it is censored at its
  last logged step) with a bootstrap interval.
* ``compare_arms(df, setting, a, b)`` / ``compare``: runs of ``setting = a`` paired with runs of
  ``setting = b`` that share every other setting; per-pair speed-ups, their median with a
  bootstrap interval, an exact sign test, a Wilcoxon signed-rank test, and how many pairs reach
  the threshold in A only, B only, both, neither.
* ``intervals``: ``wilson``, ``sign_test``, ``wilcoxon``, the seeded percentile bootstrap.

Modules: ``intervals`` (the math), ``survival`` (time to threshold, censoring, the
Kaplan-Meier median), ``columns`` (the criterion, checked columns, values from text),
``cells``, ``paired``, ``text`` (terminal tables and JSON), ``command`` (the CLI; imported by
``grokjax.cli`` only).  numpy and pandas only; every number is deterministic (seeded).
"""

from grokjax.stats.cells import CellStats, CellTable, cell_stats, cell_table
from grokjax.stats.columns import Criterion, StatsError
from grokjax.stats.intervals import Share, SignTest, Wilcoxon, sign_test, wilcoxon, wilson
from grokjax.stats.paired import ArmSummary, Comparison, Pair, Stratum, compare, compare_arms
from grokjax.stats.survival import MedianStep, ReachTimes, km_median, reach_times

__all__ = ["ArmSummary", "CellStats", "CellTable", "Comparison", "Criterion", "MedianStep",
           "Pair", "ReachTimes", "Share", "SignTest", "StatsError", "Stratum", "Wilcoxon",
           "cell_stats", "cell_table", "compare", "compare_arms", "km_median", "reach_times",
           "sign_test", "wilcoxon", "wilson"]
