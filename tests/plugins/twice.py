"""A test plugin that registers a name the built-ins already use."""

import dataclasses

import grokjax
from grokjax.tasks import parity

grokjax.register(dataclasses.replace(parity.TASK, doc="a second parity"))
