"""Neural-network modules, layers, losses, regularization and init on tinygrad_lite tensors."""
