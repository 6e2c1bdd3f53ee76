import os

# Tests run on whatever CPU they get; keep XLA from grabbing every core's worth of threads
# twice over when pytest runs alongside other work.
os.environ.setdefault("GROKJAX_QUIET", "1")
# On a GPU, JAX preallocates 75% of its memory per process; several tests start a second
# grokjax process (the CLI, workers), which would then run out of memory.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
