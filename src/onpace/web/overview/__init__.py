"""Leaders' and owners' first pages: the desk."""
