"""The read side: HTTP routes over the read models."""
