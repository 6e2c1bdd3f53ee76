import os

# Tests run on whatever CPU they get; keep XLA from grabbing every core's worth of threads
# twice over when pytest runs alongside other work.
os.environ.setdefault("GROKJAX_QUIET", "1")
