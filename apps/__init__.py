"""Applications built on kstreamy."""
