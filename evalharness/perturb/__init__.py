"""Seeded perturbation recipes: the same seed gives the same perturbed rows on every machine."""
