"""One router per user-facing feature."""
