"""The network's map: the features entering a network's final linear layer for N test digits, projected to 2-D.

The projections' names live here, numpy-free: the command line's parser offers them without loading numpy.
"""

METHODS = ("pca", "tsne", "umap")
TITLES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
