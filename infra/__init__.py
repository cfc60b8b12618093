"""What the components share: settings, connections, relay, blobs, launcher."""
