"""``plot --where``: select result rows with a small, safe expression language.

The text is parsed with ``ast`` and evaluated here, never by ``eval`` or ``DataFrame.query``
(which runs Python: ``@`` names, attributes and calls).  Allowed, and nothing else::

    comparison := operand OP operand [OP operand ...]    OP: == != < <= > >= in, not in
    operand    := column name | literal
    literal    := number | string | True | False | [literal, ...] | (literal, ...)
    expression := comparison | expression and/or expression | not expression | ( expression )

Every comparison compares a column with a literal (``0.01 < lr <= 1`` chains two);
``in`` / ``not in`` need a column on the left and a list or tuple of literals on the right.
"""

from __future__ import annotations

import ast
import operator
from typing import Any

import pandas as pd

from grokjax.store import ResultsError

ALLOWED = ("allowed: comparisons (==, !=, <, <=, >, >=, in, not in) of a column name with "
           "numbers, strings, True/False or lists of them, joined by and / or / not and "
           "parentheses, e.g. 'weight_decay == 0.1 and reg in [\"l1\", \"l2\"]'")
_OPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge}
_FLIP = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE,
         ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}
_LITERALS = (bool, int, float, str)


class _Bad(Exception):
    def __init__(self, node: ast.AST | None, why: str):
        self.node, self.why = node, why


def select_rows(df: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows of ``df`` matching ``text``; ResultsError naming ``--where`` if it is not in the
    language above (or names a column ``df`` lacks)."""
    def fail(piece: str, why: str):
        return ResultsError(f"command line: --where: {piece}{why}; {ALLOWED}")

    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise fail("", f"{text!r} is not a valid expression ({e.msg})") from None
    try:
        mask = _eval(tree.body, df)
    except _Bad as e:
        piece = ast.get_source_segment(text.strip(), e.node) if e.node is not None else None
        raise fail(f"{piece!r} " if piece else "", e.why) from None
    if not isinstance(mask, pd.Series):
        raise fail(f"{text!r} ", "compares no column")
    return df[mask.fillna(False).astype(bool)]


def _eval(node: ast.AST, df: pd.DataFrame) -> pd.Series:
    if isinstance(node, ast.BoolOp):
        masks = [_eval(v, df) for v in node.values]
        out = masks[0]
        for m in masks[1:]:
            out = (out & m) if isinstance(node.op, ast.And) else (out | m)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ~_eval(node.operand, df)
    if isinstance(node, ast.Compare):
        out = None
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            m = _compare(node, left, op, right, df)
            out = m if out is None else out & m
            left = right
        return out
    raise _Bad(node, f"is {_kind(node)}, not a comparison")


def _compare(whole: ast.AST, left: ast.AST, op: ast.cmpop, right: ast.AST,
             df: pd.DataFrame) -> pd.Series:
    if isinstance(op, (ast.In, ast.NotIn)):
        col = _column(left, df, need=True)
        values = _literal(right)
        if not isinstance(values, (list, tuple)):
            raise _Bad(right, "must be a list or tuple of literals after 'in'")
        m = df[col].isin(list(values))
        return ~m if isinstance(op, ast.NotIn) else m
    if type(op) not in _OPS:
        raise _Bad(whole, f"uses {type(op).__name__}, not a comparison operator")
    lcol, rcol = _column(left, df), _column(right, df)
    if (lcol is None) == (rcol is None):
        raise _Bad(whole, "must compare one column name with one literal")
    if lcol is None:  # 0.1 < lr  ->  lr > 0.1
        lcol, value, op = rcol, _literal(left), _FLIP[type(op)]()
    else:
        value = _literal(right)
    if isinstance(value, (list, tuple)):
        raise _Bad(whole, "compares a column with a list; use 'in [...]'")
    try:
        return _OPS[type(op)](df[lcol], value)
    except TypeError as e:
        raise _Bad(whole, f"cannot be compared ({e})") from None


def _column(node: ast.AST, df: pd.DataFrame, need: bool = False) -> str | None:
    if isinstance(node, ast.Name):
        if node.id not in df.columns:
            cols = [c for c in df.columns if df[c].dtype != object
                    or df[c].map(lambda v: isinstance(v, str)).all()]
            raise _Bad(node, "is not a column of these results; columns: " + ", ".join(cols))
        return node.id
    if need:
        raise _Bad(node, "must be a column name (before 'in')")
    _literal(node)  # a literal, or an error naming what it is
    return None


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in _LITERALS:
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and type(node.operand.value) in (int, float)):
        v = node.operand.value
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, (ast.List, ast.Tuple)):
        vals = [_literal(e) for e in node.elts]
        if any(isinstance(v, (list, tuple)) for v in vals):
            raise _Bad(node, "nests a list; give a flat list of literals")
        return vals if isinstance(node, ast.List) else tuple(vals)
    raise _Bad(node, f"is {_kind(node)}, not a column name or a literal")


def _kind(node: ast.AST) -> str:
    kinds = {ast.Call: "a call", ast.Attribute: "an attribute", ast.Subscript: "a subscript",
             ast.BinOp: "arithmetic", ast.Name: "a name", ast.Lambda: "a lambda",
             ast.Constant: "a constant of an unsupported type"}
    return next((v for k, v in kinds.items() if isinstance(node, k)),
                f"a {type(node).__name__} expression")
