"""The CI-side reporter: sends start, result and end events. Standard library only."""
