"""What an alert expression reads, from its PromQL syntax tree (parsed by `promql_parser`).

For each metric selector: its name, its label matchers, and which labels survive the aggregations and vector
matching above it, so a lint can tell whether an alert still tells workflow types apart. `and`/`unless` keep only
the left side's labels; `on(...)`/`ignoring(...)` keep the matched labels of a one-to-one side; topk/bottomk/limitk
keep every label. label_replace/label_join are not modelled (they add labels; none is removed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import promql_parser as pq

_DROPS_LABELS = {"absent", "absent_over_time", "scalar", "vector", "time"}
_KEEPS_LABELS = {"topk", "bottomk", "limitk", "limit_ratio"}
_DROP = ("drop", frozenset())
_COMPARISONS = {">", ">=", "<", "<=", "==", "!="}
_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[tuple[str, str, str], ...]
    """(label, operator, value), operator one of = != =~ !~."""
    grouping: tuple[tuple[str, frozenset[str]], ...] = ()
    """The aggregations above the selector, innermost first: ("by" | "without" | "drop", labels)."""

    def keeps(self, label: str) -> bool:
        """True when `label` still tells series apart in the alert's result."""
        for mode, labels in self.grouping:
            if mode == "drop" or (mode == "by" and label not in labels) or (mode == "without" and label in labels):
                return False
        return True

    def matches(self, label: str, value: str) -> bool:
        """Whether a series with `label=value` passes this selector's matchers on that label."""
        for name, op, expected in self.matchers:
            if name != label:
                continue
            try:
                hit = re.fullmatch(expected, value) is not None if op in ("=~", "!~") else value == expected
            except re.error:  # RE2 syntax Python does not know (e.g. \\p{Lu}): assume it matches rather than guess
                return True
            if hit != (op in ("=", "=~")):
                return False
        return True


@dataclass(frozen=True)
class Threshold:
    """A comparison of a histogram quantile with a number, e.g. histogram_quantile(0.99, ...) > 1000."""

    metric: str
    op: str
    value: float


@dataclass(frozen=True)
class Expression:
    selectors: tuple[Selector, ...]
    longest_range_s: float = 0.0
    """The longest range (`[5m]`) or subquery window: how much history the expression needs."""
    quantile_thresholds: tuple[Threshold, ...] = field(default=())

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset(s.metric for s in self.selectors)


def parse(expr: str) -> Expression:
    """Raises ValueError with the parser's message when `expr` is not valid PromQL."""
    tree = pq.parse(expr)
    selectors: list[Selector] = []
    ranges: list[float] = [0.0]
    thresholds: list[Threshold] = []
    _visit(tree, (), selectors, ranges, thresholds)
    return Expression(tuple(selectors), max(ranges), tuple(thresholds))


def _visit(node, grouping, selectors, ranges, thresholds) -> None:
    if isinstance(node, pq.VectorSelector):
        matchers = tuple((m.name, _OPS[str(m.op)], m.value) for m in node.matchers.matchers if m.name != "__name__")
        name = node.name or next((m.value for m in node.matchers.matchers if m.name == "__name__"), "")
        selectors.append(Selector(name, matchers, grouping))
    elif isinstance(node, pq.MatrixSelector):
        ranges.append(node.range.total_seconds())
        _visit(node.vector_selector, grouping, selectors, ranges, thresholds)
    elif isinstance(node, pq.SubqueryExpr):
        ranges.append(node.range.total_seconds())
        _visit(node.expr, grouping, selectors, ranges, thresholds)
    elif isinstance(node, pq.AggregateExpr):
        modifier = node.modifier
        if str(node.op) in _KEEPS_LABELS:
            for child in (node.param, node.expr):
                _visit(child, grouping, selectors, ranges, thresholds)
            return
        if modifier is None:
            step = ("by", frozenset())
        else:
            step = ("by" if modifier.type == pq.AggModifierType.By else "without", frozenset(modifier.labels))
        _visit(node.expr, (step, *grouping), selectors, ranges, thresholds)
    elif isinstance(node, pq.Call):
        inner = (("drop", frozenset()), *grouping) if node.func.name in _DROPS_LABELS else grouping
        for arg in node.args:
            _visit(arg, inner, selectors, ranges, thresholds)
    elif isinstance(node, pq.BinaryExpr):
        _threshold(node, thresholds)
        left, right = _matching(node)
        _visit(node.lhs, (*left, *grouping), selectors, ranges, thresholds)
        _visit(node.rhs, (*right, *grouping), selectors, ranges, thresholds)
    elif isinstance(node, (pq.ParenExpr, pq.UnaryExpr)):
        _visit(node.expr, grouping, selectors, ranges, thresholds)


def _matching(node) -> tuple[tuple, tuple]:
    """Extra grouping steps for the left and right operand of a binary operator."""
    op, modifier = str(node.op), node.modifier
    if op in ("and", "unless"):
        return (), (_DROP,)
    matching = modifier.matching if modifier is not None else None
    if op == "or" or matching is None:
        return (), ()
    step = ("by" if "Include" in str(matching.type) else "without", frozenset(matching.labels))
    card = str(modifier.card)
    if "ManyToOne" in card:
        return (), (step,)
    if "OneToMany" in card:
        return (step,), ()
    return (step,), (step,)


def expand(expression: Expression, recorded: dict[str, Expression]) -> Expression:
    """`expression` with every selector of a recorded series replaced by the selectors of its recording rule (their
    own grouping first, then the alert's), so an alert on `job:x:rate5m` is seen to read `x`. Ranges add up."""
    selectors: list[Selector] = []
    longest = expression.longest_range_s
    for selector in expression.selectors:
        rule = recorded.get(selector.metric)
        if rule is None:
            selectors.append(selector)
            continue
        rule = expand(rule, {k: v for k, v in recorded.items() if k != selector.metric})
        selectors += [replace(inner, grouping=(*inner.grouping, *selector.grouping)) for inner in rule.selectors]
        longest = max(longest, expression.longest_range_s + rule.longest_range_s)
    return Expression(tuple(selectors), longest, expression.quantile_thresholds)


def _threshold(node, thresholds: list[Threshold]) -> None:
    op = str(node.op)
    if op not in _COMPARISONS:
        return
    for side, number in ((node.lhs, node.rhs), (node.rhs, node.lhs)):
        quantile = _quantile_metric(side)
        if quantile and isinstance(number, pq.NumberLiteral):
            thresholds.append(Threshold(quantile, op, float(number.val)))


def _quantile_metric(node) -> str | None:
    while isinstance(node, pq.ParenExpr):
        node = node.expr
    if isinstance(node, pq.Call) and node.func.name == "histogram_quantile":
        found: list[Selector] = []
        _visit(node.args[1], (), found, [], [])
        return found[0].metric if found else None
    return None
