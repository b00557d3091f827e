"""Adapters: read other tools' result files into the benchwatch results model.

Each format is a module with ``FORMAT`` (a :class:`~benchwatch.adapters.registry.Format`);
:mod:`benchwatch.adapters.registry` lists them and detects a file's format
by its content, never by its name alone.
"""
