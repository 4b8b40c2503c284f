"""Family `leo-handover`: learners (registration only; light imports)."""
