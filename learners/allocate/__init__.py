"""Learners of the `allocate` family (registration only; light imports)."""
