"""The strategy comparison as a Markdown document, and its atomic write.

The figures come from ``capsim.analysis.strategies``; this module only lays them out: the
header, the strategy table, shortfall risk by year, what holds the megawatts, and a reading
computed from the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capsim.analysis.strategies import COMMITMENT_PERCENTILE, StrategyComparison
from capsim.errors import OutputError
from capsim.report.charts_measures import cause_label
from capsim.runs.publish import publish_file

#: Shown for a P-date no percentile of the replications reached within the horizon.
PAST_HORIZON = "past horizon"
USD_PER_MUSD = 1e6
PERCENTAGE_POINTS_PER_UNIT = 100.0


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: int = 0) -> str:
    """A Markdown table; columns from index ``right`` on are right-aligned (figures)."""
    rule = ["---:" if i >= right > 0 else "---" for i in range(len(headers))]
    lines = [_row(headers), _row(rule), *(_row(r) for r in rows)]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    """One table row, pipes in the cells escaped."""
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def signed(value: float, digits: int = 1) -> str:
    """A change with its sign ('+1.5', '-0.2'); '0.0' when it rounds to zero; '-' when unknown."""
    if not math.isfinite(value):
        return "-"
    text = f"{value:+,.{digits}f}"
    return text[1:] if float(text.replace(",", "")) == 0 else text


def interval(mean: float, low: float, high: float, scale: float, digits: int) -> str:
    """A paired change and its 95% interval in display units: '+12.3 [+7.8, +16.8]'."""
    if not math.isfinite(mean):
        return "-"
    shown = signed(mean * scale, digits)
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{shown} [interval needs 2+ replications]"
    return f"{shown} [{signed(low * scale, digits)}, {signed(high * scale, digits)}]"


def _months(shift: float) -> str:
    """A P80 shift in whole months, '+' later and '-' earlier than the base."""
    return "-" if not math.isfinite(shift) else signed(shift, 0)


def _date_order(comparison: StrategyComparison) -> list[int]:
    """P-date percentiles as the table shows them: P80 first, then the others increasing."""
    others = [p for p in comparison.date_percentiles.values if p != COMMITMENT_PERCENTILE]
    return [COMMITMENT_PERCENTILE, *others]


def header_section(
    comparison: StrategyComparison, command: str, created: str, kept: Path | None
) -> str:
    """Title and what made the document: base, replications, seed, version, command, date."""
    lines = [
        f"# Procurement strategies compared against {comparison.base}",
        "",
        f"- Base scenario: {comparison.base}",
        f"- Replications: {comparison.replications:,} per strategy, paired by replication "
        "(common random numbers: every strategy draws the same demand, queues and lead times)",
        f"- Seed: {comparison.seed}",
        f"- capsim version: {comparison.capsim_version}",
        f"- Command: `{command}`",
        f"- Date: {created}",
    ]
    if kept is not None:
        lines.append(f"- Run directories: `{kept}` (for `capsim report`)")
    return "\n".join(lines)


def strategy_section(comparison: StrategyComparison) -> str:
    """The strategy table: P-dates, served share, cash cost, and paired changes against base."""
    mws = comparison.milestones_mw
    order = _date_order(comparison)
    first = f"{_mw(mws[0])} MW" if mws else "first milestone"
    headers = [
        "strategy",
        "description",
        *(f"{_mw(mw)} MW P{p}" for mw in mws for p in order),
        "mean served share",
        "cash cost P50 (USD m)",
        "served share change vs base (pp, 95%)",
        "cash cost change vs base (USD m, 95%)",
        f"P80 shift, {first} (months)",
    ]
    rows = []
    for k, row in enumerate(comparison.strategies.to_dict("records")):
        name = str(row["strategy"])
        dates = [comparison.p_date(name, mw, p) or PAST_HORIZON for mw in mws for p in order]
        is_base = k == 0
        rows.append(
            [
                name,
                str(row["description"]),
                *dates,
                f"{row['served_share_mean']:.1%}",
                f"{row['cash_cost_p50_usd'] / USD_PER_MUSD:,.1f}",
                "base"
                if is_base
                else interval(
                    row["served_share_change_mean"],
                    row["served_share_change_low"],
                    row["served_share_change_high"],
                    PERCENTAGE_POINTS_PER_UNIT,
                    2,
                ),
                "base"
                if is_base
                else interval(
                    row["cash_cost_change_mean_usd"],
                    row["cash_cost_change_low_usd"],
                    row["cash_cost_change_high_usd"],
                    1 / USD_PER_MUSD,
                    1,
                ),
                "base" if is_base else _shift_cell(comparison, name, row),
            ]
        )
    note = (
        "P-dates: the month by which that percentage of replications had the milestone's MW "
        "grid-energised for the portfolio (existing capacity included); "
        f"'{PAST_HORIZON}' when fewer reached it within the horizon. Changes are the mean of "
        "per-replication differences (strategy minus base) with a 95% interval "
        "(mean ± 1.96 standard errors); pp = percentage points of served share. The P80 shift "
        f"is the strategy's P80 date of {first} minus the base's, in months (negative: earlier)."
    )
    return "\n\n".join(["## Strategies", markdown_table(headers, rows, right=2), note])


def _shift_cell(comparison: StrategyComparison, name: str, row: Mapping[Hashable, Any]) -> str:
    """The P80 shift of the first milestone (from the strategy's ``row``), or why there is none."""
    shift = float(row["first_milestone_p80_shift_months"])
    if math.isfinite(shift):
        return _months(shift)
    mw = comparison.first_milestone_mw
    if mw is None:
        return "-"
    base = comparison.p_date(comparison.base, mw, COMMITMENT_PERCENTILE)
    own = comparison.p_date(name, mw, COMMITMENT_PERCENTILE)
    if base is None and own is None:
        return "past horizon, as for the base"
    if base is None:
        return f"earlier ({own}; base past horizon)"
    return f"later (past horizon; base {base})"


def risk_section(comparison: StrategyComparison) -> str:
    """Probability of a shortfall beyond tolerance, strategies by year."""
    table = comparison.beyond_tolerance
    years = [str(c) for c in table.columns]
    rows = [
        [str(name), *(_probability(float(table.loc[name, y])) for y in years)]
        for name in table.index
    ]
    note = (
        "Share of replications in which some month end of the year is short by more than "
        f"{comparison.shortfall_tolerance * 100:g}% of demand (the base scenario's "
        "`report.shortfall_tolerance`)."
    )
    title = "## Probability of a shortfall beyond tolerance, by year"
    if not years:
        return f"{title}\n\nNo calendar year in the horizon."
    return "\n\n".join([title, markdown_table(["strategy", *years], rows, right=1), note])


def _probability(value: float) -> str:
    """A probability as a whole percentage ('-' when unknown)."""
    return f"{value:.0%}" if math.isfinite(value) else "-"


def causes_section(comparison: StrategyComparison, count: int = 3) -> str:
    """Per strategy, the causes that held the portfolio's megawatts longest (MW-weighted)."""
    causes = comparison.delay_causes
    headers = ["strategy", *(_ordinal(i) + " cause" for i in range(1, count + 1))]
    rows = []
    for name in comparison.names:
        own = causes[causes["strategy"] == name].sort_values("rank")
        cells = [
            f"{cause_label(str(cause))} ({share:.0%})"
            for cause, share in zip(own["cause"], own["share"], strict=True)
        ]
        if not cells:
            cells = ["no deal reached first power"]
        rows.append([name, *cells, *[""] * (count - len(cells))])
    note = (
        "Share of all MW-months of delay to first power due to each cause along the deals' "
        "critical paths, weighted by deal MW (summary `criticality`, portfolio)."
    )
    return "\n\n".join(["## What holds the megawatts", markdown_table(headers, rows), note])


def _ordinal(number: int) -> str:
    """1 -> '1st', 2 -> '2nd', 3 -> '3rd', 4 -> '4th'."""
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number, 'th') }"


def _names(names: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def reading_section(comparison: StrategyComparison) -> str:
    """What the numbers say: earliest at P80, most served, and each variant against base."""
    sentences = []
    mw = comparison.first_milestone_mw
    earliest, month = comparison.earliest_at_commitment()
    if mw is None:
        sentences.append("The runs have no MW milestone, so no P-date is compared.")
    elif not earliest:
        sentences.append(f"No strategy has {_mw(mw)} MW energised within the horizon at P80.")
    elif len(earliest) == len(comparison.names):
        sentences.append(f"Every strategy has {_mw(mw)} MW energised by {month} at P80.")
    else:
        verb = "has" if len(earliest) == 1 else "have"
        base = comparison.p_date(comparison.base, mw, COMMITMENT_PERCENTILE) or PAST_HORIZON
        against = "" if comparison.base in earliest else f" (base: {base})"
        sentences.append(
            f"{_names(earliest)} {verb} {_mw(mw)} MW energised earliest at P80, by {month}"
            f"{against}."
        )
    served, share = comparison.most_served()
    if len(served) == len(comparison.names):
        sentences.append(f"Every strategy serves the same mean share of demand, {share:.1%}.")
    else:
        verb = "serves" if len(served) == 1 else "serve"
        sentences.append(f"{_names(served)} {verb} the most demand: {share:.1%} on average.")
    for row in comparison.strategies.to_dict("records")[1:]:
        sentences.append(_variant_sentence(comparison, row))
    return "## Reading\n\n" + " ".join(sentences)


def _variant_sentence(comparison: StrategyComparison, row: Mapping[Hashable, Any]) -> str:
    """A variant against base: its P80 shift and its paired cash cost change, with a verdict."""
    name, base = str(row["strategy"]), comparison.base
    mean = float(row["cash_cost_change_mean_usd"])
    low, high = float(row["cash_cost_change_low_usd"]), float(row["cash_cost_change_high_usd"])
    if mean == 0 and low == 0 and high == 0:
        cash = "the same cash cost in every replication"
    else:
        shown = interval(mean, low, high, 1 / USD_PER_MUSD, 1)
        if not (math.isfinite(low) and math.isfinite(high)):
            verdict = "its interval needs two or more replications"
        elif low > 0:
            verdict = "more than the base"
        elif high < 0:
            verdict = "less than the base"
        else:
            verdict = "no clear difference, the interval spans zero"
        cash = f"cash cost {shown} USD m ({verdict})"
    mw = comparison.first_milestone_mw
    if mw is None:
        return f"{name} against {base}: {cash}."
    shift = float(row["first_milestone_p80_shift_months"])
    if not math.isfinite(shift):
        timing = f"P80 date of {_mw(mw)} MW {_shift_cell(comparison, name, row)}"
    elif shift == 0:
        timing = f"P80 date of {_mw(mw)} MW unchanged"
    else:
        direction = "earlier" if shift < 0 else "later"
        months = "month" if abs(shift) == 1 else "months"
        timing = f"P80 date of {_mw(mw)} MW {abs(shift):.0f} {months} {direction}"
    return f"{name} against {base}: {timing}, {cash}."


def _mw(mw: float) -> str:
    """A milestone in MW as people read it: '1,200', '62.5'."""
    return f"{mw:,.0f}" if float(mw).is_integer() else f"{mw:,g}"


def strategies_markdown(
    comparison: StrategyComparison,
    command: str,
    created: str | None = None,
    kept: Path | None = None,
) -> str:
    """The whole document: header, strategy table, risk by year, delay causes, reading."""
    when = created or datetime.now(UTC).date().isoformat()
    sections = [
        header_section(comparison, command, when, kept),
        strategy_section(comparison),
        risk_section(comparison),
        causes_section(comparison),
        reading_section(comparison),
    ]
    return "\n\n".join(sections) + "\n"


def check_output_file(path: Path) -> None:
    """Refuse (exit 3) an output file whose folder is missing or which is a directory."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: no directory {folder}")


def write_markdown(text: str, path: Path) -> Path:
    """Write ``text`` to ``path`` whole: a temporary file beside it, renamed over it when complete.

    So an existing file is replaced only by a complete one, never left half-written.
    """
    check_output_file(path)
    return publish_file(path, lambda staged: staged.write_text(text, encoding="utf-8"))
