"""The command line: `python -m netlib train|summary|predict|evaluate|data|bench`."""
