"""Optimizers and learning-rate schedules for tinygrad_lite parameters."""
