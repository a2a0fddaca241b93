"""The layer classes, one topic per module (linear, activation, conv, pooling, ...)."""
