"""benchwatch: performance-regression verdicts you can trust on noisy CI machines."""

__version__ = "0.1.0"
