"""Atlas-Lotse web service: search API, chat API and chat page."""
