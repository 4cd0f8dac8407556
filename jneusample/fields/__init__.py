"""Neural fields: positional encoding, the shared MLP trunk, the radiance field and the sample field."""
