"""Reports over a history (the HTML trend report)."""
