"""HTML helpers shared by the sweep page and the run explorer pages.

Both pages are one self-contained file: a template (``template.html``,
``explorer_template.html``) made of the shared ``head.html`` (the <head> up to the base styles),
the page's own styles, the shared ``head_end.html`` (the last styles, up to <header>), the page's
body and the shared ``tail.html`` (footer, the inlined Vega bundle, the page's JSON data and its
script), whose ``__NAME__`` placeholders are filled in one pass.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

_HERE = Path(__file__).parent
# Snippet lines of a page template, replaced by the shared files before it is filled.
_SNIPPETS = {"__HEAD__\n": "head.html", "__HEAD_END__\n": "head_end.html",
             "__TAIL__\n": "tail.html"}


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega and vega-embed as one inline script (defines ``window.vegaEmbed``).

    The specs are compiled to Vega in Python; the page uses vega-embed in ``mode: "vega"``.
    (A Vega-only bundle would be 0.3 MB smaller, but ``javascript_bundle`` exports no usable
    ``vega`` namespace: its ``window.vega`` is null.)
    """
    import vl_convert

    js = vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed;")
    return js.replace("</script", "<\\/script")


def asset(name: str) -> str:
    """A file shipped next to this module (templates, scripts)."""
    return (_HERE / name).read_text(encoding="utf-8")


def page_script(name: str) -> str:
    """A page's own script after the helpers every page shares, safe to inline in <script>."""
    return (asset("common.js") + asset(name)).replace("</script", "<\\/script")


def to_vega(vl_spec: Mapping[str, Any]) -> dict[str, Any]:
    """A Vega-Lite spec compiled to Vega (the pages only run Vega)."""
    import vl_convert

    vg = vl_convert.vegalite_to_vega(vl_spec)
    vg = json.loads(vg) if isinstance(vg, str) else vg
    vg.pop("$schema", None)
    return vg


def json_for_script(obj: Any) -> str:
    """``obj`` as JSON that is safe inside ``<script type="application/json">``."""
    s = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=_default)
    return s.replace("</", "<\\/").replace("<!--", "<\\!--")


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def fill_page(template: str, parts: Mapping[str, str]) -> str:
    """The page template ``template`` with each ``__NAME__`` replaced by ``parts[NAME]``.

    One pass: filled-in text (the Vega bundle, the JSON data) is never scanned again, and a
    placeholder without a part is left as it is.
    """
    text = asset(template)
    for line, name in _SNIPPETS.items():
        text = text.replace(line, asset(name))
    return re.sub(r"__([A-Z_]+)__", lambda m: parts.get(m.group(1), m.group(0)), text)


def self_contained_note() -> str:
    """The footer sentence saying what is inlined (the versions of Vega and vega-embed)."""
    import vl_convert

    e = html.escape
    return (f"Self-contained: Vega {e(vl_convert.get_vega_version())} and vega-embed "
            f"{e(vl_convert.get_vega_embed_version())} are inlined; the page makes no "
            "network request.")


__all__ = ["asset", "fill_page", "json_for_script", "page_script", "self_contained_note",
           "to_vega", "vega_bundle"]
