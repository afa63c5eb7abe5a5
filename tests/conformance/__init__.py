"""The ThreadStore conformance suite: one set of behaviours every backend must pass."""
