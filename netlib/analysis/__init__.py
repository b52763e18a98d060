"""Analysis of trained networks: preparing digits, predicting, inspecting layers, explaining, evaluating."""
