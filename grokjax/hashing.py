"""Stable short hashes of JSON-able values: run ids, spec hashes, group ids."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(obj: Any, n: int = 16) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:n]
