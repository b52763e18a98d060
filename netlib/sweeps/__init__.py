"""Sweeps: many runs designed at once as an Optuna study, worked by any number of workers."""
