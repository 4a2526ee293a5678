"""What the chart tests read off a drawn figure: legend entries and nothing-to-show messages."""

from __future__ import annotations

from matplotlib.figure import Figure

from capsim.report import charts


def legend_texts(fig: Figure) -> list[str]:
    """Every legend entry of every axes of a figure."""
    return [
        text.get_text()
        for ax in fig.axes
        if (legend := ax.get_legend()) is not None
        for text in legend.get_texts()
    ]


def nothing_to_show_texts(fig: Figure) -> list[str]:
    """The messages a chart shows in words in place of axes with nothing to draw."""
    return [
        text.get_text()
        for ax in fig.axes
        for text in ax.texts
        if text.get_gid() == charts.NOTHING_TO_SHOW_GID and text.get_visible()
    ]
