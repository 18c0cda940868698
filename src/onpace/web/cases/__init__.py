"""The cases inbox and the case page with its forms."""
