"""The operator commands behind `connector …`: one module per group of subcommands."""
