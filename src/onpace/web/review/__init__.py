"""The weekly review pack on the web, as PDF and as Markdown."""
