"""One module per page (Dash Pages); each has `layout(**kwargs)` and its callbacks."""
