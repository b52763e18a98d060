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


def test_log_gradient_axis_labels_every_tick_with_its_whole_value():
    """Issue 29: Plotly labelled a log axis's minor ticks '9 8 7 ... 3', so 0.3 read as 3; every tick the
    gradient chart labels says its whole value, and the ticks cover the data."""
    from netlib.charts.training import first_layer_grad_figure

    batches = [{"epoch": 1, "batch": b, "batches": 4, "grad_norm": [g]} for b, g in enumerate([0.3, 0.9, 2.5, 8.0], 1)]
    fig = first_layer_grad_figure([{"label": "a", "color": "#000", "batches": batches}])
    axis = fig.layout.yaxis
    values, texts = list(axis.tickvals), list(axis.ticktext)
    assert min(values) <= 0.3 and max(values) >= 8.0
    assert len(values) >= 3 and all(float(t) == v for t, v in zip(texts, values))  # '0.5' for 0.5, never '5'


def test_per_digit_accuracy_axis_ends_at_100_percent():
    from netlib.charts.evaluation import per_class_figure

    fig = per_class_figure([0.99, 0.995, 0.98, 1.0, 0.97, 0.99, 0.99, 0.985, 0.975, 0.99])
    assert fig.layout.yaxis.range[1] == 100
