"""Score aggregation across run directories (rliable-style metrics) and the HTML comparison report."""
