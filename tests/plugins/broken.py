"""A test plugin that fails to import."""

import grokjax  # noqa: F401

raise RuntimeError("this plugin is broken on purpose")
