"""Analysis of batch results: outcomes per run, comparison, targets, discovery, sensitivity."""
