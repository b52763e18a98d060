"""What the dashboard needs, in plain Python (no streamlit): launching and steering runs, the checkpoint
catalogue, uploads, safe paths."""
