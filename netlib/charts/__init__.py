"""Pure Plotly figures for the dashboard: data in, go.Figure out (no streamlit here)."""
