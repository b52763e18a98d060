"""netlib.charts.style.built: a figure made in one step is the figure made call by call (only faster)."""

from __future__ import annotations

import numpy as np

from netlib.charts import digits, style


def test_built_equals_the_figure_built_up_call_by_call():
    data = [{"type": "bar", "x": ["a", "b"], "y": [1.0, 2.0], "marker": {"color": "#4F46E5"}},
            {"type": "heatmap", "z": np.eye(3, dtype=np.float32), "showscale": False}]
    layout = {"hovermode": "closest", "margin": dict(l=4, r=4, t=32, b=4),
              "xaxis": {"title": {"text": "x"}, "type": "category"}, "yaxis": {"range": [0, 3]}}
    for title, height in (("", 260), ("why 3", 170)):
        slow = style.figure(title, height)
        slow.add_traces(data)
        slow.update_layout(layout)
        assert style.built(data, layout, title, height).to_dict() == slow.to_dict()
    untitled = style.built(data, layout, None, 200).to_dict()["layout"]
    assert "title" not in untitled and untitled["height"] == 200


def test_the_draw_page_figures_keep_the_look_and_leave_shared_parts_alone():
    before = {k: dict(v) if isinstance(v, dict) else v for k, v in digits.PIXELS.items()}
    fig = digits.digit_figure(np.zeros((28, 28), np.uint8), "label", height=170).to_dict()["layout"]
    assert fig["template"] == style.TEMPLATE.to_plotly_json() and fig["uirevision"] == style.UIREVISION
    assert fig["yaxis"]["autorange"] == "reversed" and fig["title"]["text"] == "label"
    bars = digits.probability_figure([0.1, 0.9], "#EA580C").to_dict()["data"][0]
    assert bars["marker"]["color"] == ["#CBD5E1", "#EA580C"] and bars["text"] == ["10%", "90%"]
    assert digits.PIXELS == before
