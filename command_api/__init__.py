"""The write side: aggregates, the event-sourced application and the command routes."""
