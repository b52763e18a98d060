"""One HTML file of runs and sweeps (python -m netlib report): charts, settings, results; opens offline."""
