"""OCR workers: uploads in from the bus, OCRmyPDF, text back out as commands."""
