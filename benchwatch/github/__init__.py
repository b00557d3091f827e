"""GitHub integration: REST client, Actions context, job summary, report publishing.

Core code here never prints and never reads ``os.environ``: the CLI
(:mod:`benchwatch.cli.github_command`) reads the environment and passes
values in explicitly.
"""
