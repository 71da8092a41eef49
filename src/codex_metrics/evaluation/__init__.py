"""Code evaluation: tasks, providers, sandboxed execution, scoring, comparison and reports."""
