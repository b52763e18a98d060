"""netlib: the MNIST network lab's engine — networks, data, training, runs, inspection (no UI)."""

__version__ = "0.1.0"
