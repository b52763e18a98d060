"""The network's map: the features entering a network's final linear layer for N test digits, projected to 2-D."""
