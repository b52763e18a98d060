"""The run protocol: a run folder's files, the training process's writer, readers, control, summaries."""
