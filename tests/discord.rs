//! Integration tests: discord.
