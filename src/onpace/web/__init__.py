"""Server-rendered pages: Jinja2 templates, htmx and vendored ECharts."""
