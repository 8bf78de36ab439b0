"""The `seq2seq` command: argument parsing (main) and one function per subcommand
(commands)."""
