"""The Discord shell: everything that talks to discord.py, kept thin over ``bot.core``."""
