"""Family `leo-handover`: heuristics (registration only; light imports)."""
