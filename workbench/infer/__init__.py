"""Using a model: decoding (generation, greedy and beam translation) and the analyses
behind the live and Inspect views (probe, saliency, gradient flow, PCA, neuron search)."""
