"""Sample inputs per op family (see tapegrad.ops.registry)."""
