"""Training: one loop for every pairing of augmenter and recommender."""
