"""The floor for a first render: the least a Streamlit page with one Plotly chart needs (scripts/bench_load.py).

A title, one metric and one three-bar chart, served by the same Streamlit and Plotly as the lab: the time to
its chart in a fresh session is what the browser and the framework cost on a machine before the lab's own
pages add anything.
"""

import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Floor", layout="wide")
st.title("Floor")
st.metric("test accuracy", "99.50%")
st.plotly_chart(go.Figure(go.Bar(y=[1, 2, 3])), width="stretch")
