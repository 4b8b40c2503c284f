"""Family `leo-handover`: terminal-side LEO serving-satellite selection (spec shared/spec/leo_handover.md)."""
