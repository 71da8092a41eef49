"""What each dashboard page draws: one module per page, each a ``render()`` (UI only)."""
