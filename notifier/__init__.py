"""The notifier: a websocket server that streams each user's events and OCR progress."""
