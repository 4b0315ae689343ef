"""Training runs: settings, run folders, events, train and resume (UI-agnostic)."""
