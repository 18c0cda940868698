"""The weekly review pack: HTML, PDF and Markdown."""
