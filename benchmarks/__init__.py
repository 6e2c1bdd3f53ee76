"""``make bench`` (``python -m benchmarks.bench``): grokjax's throughput table.

A folder of the checkout, not part of the installed package (pyproject installs ``grokjax*``
only).  Its only calls into grokjax are in ``benchmarks/grokjax_calls.py``.
"""
