"""The public contract of the bus: subjects, events and commands, versioned."""
