"""Comparing git revisions: worktrees, interleaved adaptive runs, shards."""
