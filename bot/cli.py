"""``brewhost``: run the bot, migrate the database, check the config, make the invite link.

Every failure a volunteer can cause (a typo in the config, no token) ends with one plain line and
exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.config import Config, ConfigError, load_config, require_token
from bot.core.content import Content, ContentError, load_content
from bot.core.export_formats import EXPORT_FORMATS
from bot.permissions import OPTIONAL, REQUIRED, client_id_from_token, human_name, invite_url

log = logging.getLogger("brewhost")

EXIT_CONFIG = 2
#: Another process is migrating the database (EX_TEMPFAIL: try again later).
EXIT_BUSY = 75
DEFAULT_CONFIG = "config.toml"


def _config_path(value: str | None) -> str | None:
    """An explicit --config must exist; without one, ./config.toml is used if it is there."""
    if value is not None:
        return value
    return DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None


def _load(args: argparse.Namespace) -> Config:
    return load_config(_config_path(args.config))


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args)
    load_content(config.content.path)
    require_token(config)
    print(f"{config.source}: looks good (database {config.database.url.split('://')[0]}).")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from bot.db.migrate import MIGRATION_LOCK_WAIT_S, upgrade

    config = _load(args)
    wait = MIGRATION_LOCK_WAIT_S if args.lock_wait is None else args.lock_wait
    result = upgrade(config.database.url, lock_wait=wait)
    if result.changed:
        print(f"The database was upgraded from {result.before or 'empty'} to {result.after}.")
    else:
        print("The database is up to date.")
    return 0


def cmd_invite_url(args: argparse.Namespace) -> int:
    client_id = args.client_id
    if client_id is None:
        config = _load(args)
        token = require_token(config)
        client_id = client_id_from_token(token)
        if client_id is None:
            raise ConfigError(config.source, "discord.token", "does not look like a bot token")
    print(invite_url(client_id))
    if args.explain:
        print("\nPermissions asked for, and why:")
        for name, _, why in REQUIRED + OPTIONAL:
            print(f"- {human_name(name)}: {why}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot import event_loop, heap
    from bot.logging_setup import setup_logging

    # Before any thread starts (the database check below starts one): see bot.heap.
    heap.one_arena()

    config = _load(args)
    token = require_token(config)
    content = load_content(config.content.path)
    wanted = args.loop or config.runtime.event_loop
    try:
        loop = event_loop.choose(wanted)
    except event_loop.LoopUnavailable as exc:
        where = (
            (config.source, "runtime.event_loop")
            if args.loop is None
            else ("brewhost run", "--loop")
        )
        raise ConfigError(*where, str(exc)) from None
    setup_logging(config.logging.level, token)
    log.info("%s", loop.describe())
    from bot.db.schema_version import schema_is_current

    if event_loop.run(schema_is_current(config.database.url), loop):
        log.info("the database is up to date")
    else:
        # Alembic (and Mako) load only here: about 10 MiB a running bot never needs again.
        from bot.db.migrate import upgrade

        log.info("applying database migrations")
        upgrade(config.database.url)
    event_loop.run(_serve(config, token, content), loop)
    return 0


async def _serve(config: Config, token: str, content: Content) -> None:
    from bot.db.session import create_engine, session_factory
    from bot.services import build_services
    from bot.shell.app import make_bot
    from bot.shell.endpoints import configure_endpoints

    configure_endpoints(config.discord.api_base_url, config.discord.gateway_url)
    engine = create_engine(config.database.url, config.database)
    bot = make_bot(build_services(config, session_factory(engine), content=content))
    stop_on_sigterm(bot)
    try:
        async with bot:
            await bot.start(token)
    finally:
        await engine.dispose()


def stop_on_sigterm(bot: Any) -> None:
    """``systemctl stop``, ``docker stop`` and most supervisors send SIGTERM, and Python's
    default for it is to die on the spot: no goodbye to the gateway, timers and pooled
    connections dropped mid-way. Close the bot instead, as Ctrl-C does, and exit with 0.
    (Nothing is lost either way: the database is the truth and the next start catches every
    room up; this only makes the ordinary stop an orderly one.)"""
    import signal

    loop = asyncio.get_running_loop()

    def closing() -> None:
        log.info("SIGTERM: stopping Brew Host")
        loop.remove_signal_handler(signal.SIGTERM)  # a second SIGTERM kills at once
        task = loop.create_task(bot.close())
        _background.add(task)
        task.add_done_callback(_background.discard)

    try:
        loop.add_signal_handler(signal.SIGTERM, closing)
    except (NotImplementedError, AttributeError):  # Windows: no loop signal handlers
        log.debug("SIGTERM cannot be caught on this platform")


_background: set[asyncio.Task[None]] = set()


def cmd_export(args: argparse.Namespace) -> int:
    from bot.export_cli import run_export

    config = _load(args)
    return run_export(config, args)


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.rehearsal.demo import run_demo

    return run_demo(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brewhost", description="Brew Host: a Discord bot that hosts Over A Brew sessions."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config", metavar="PATH", help=f"config file (default: ./{DEFAULT_CONFIG} if present)"
        )
        return p

    p = with_config(
        sub.add_parser("run", help="apply migrations, then connect to Discord and serve")
    )
    p.add_argument(
        "--loop",
        choices=("auto", "uvloop", "asyncio"),
        default=None,
        help='event loop (default: [runtime] event_loop, "auto": uvloop where installed); '
        "asyncio is the standard loop",
    )
    p.set_defaults(func=cmd_run)
    p = with_config(sub.add_parser("migrate", help="bring the database up to date"))
    p.add_argument(
        "--lock-wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="PostgreSQL: how long to wait for another process's migration (default 300)",
    )
    p.set_defaults(func=cmd_migrate)
    p = with_config(sub.add_parser("check-config", help="check the config file and the token"))
    p.set_defaults(func=cmd_check_config)
    p = with_config(
        sub.add_parser("invite-url", help="print the link that adds the bot to a server")
    )
    p.add_argument(
        "--client-id",
        type=int,
        metavar="ID",
        help="application (client) id; default: from the token",
    )
    p.add_argument("--explain", action="store_true", help="also list each permission and why")
    p.set_defaults(func=cmd_invite_url)

    p = with_config(sub.add_parser("export", help="export reflections (a report, CSV or JSON)"))
    p.add_argument("--format", choices=tuple(EXPORT_FORMATS), default="markdown")
    p.add_argument("--brew", type=int, metavar="N", help="only brew number N")
    p.add_argument("--guild", type=int, metavar="ID", help="only this server (default: all)")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only brews on or after this date")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="with --all-servers: on or before")
    p.add_argument(
        "--all-servers", action="store_true",
        help="one regional report (html, docx or markdown) across every server, by area",
    )  # fmt: skip
    p.add_argument(
        "--area", action="append", default=[], metavar="NAME",
        help="with --all-servers: only this area (repeat for several)",
    )  # fmt: skip
    p.add_argument(
        "--out", metavar="FILE", help="write here (default: a file in the current folder)"
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "demo", help="rehearse a whole brew on a simulated Discord, no account needed"
    )
    p.add_argument("--people", type=int, default=9, help="people in the brew (default 9)")
    p.add_argument("--text-only", type=int, default=2, help="of whom join by text only (default 2)")
    p.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="clock speed (default 60: a 2-minute turn takes 2 seconds)",
    )
    p.add_argument(
        "--seed", type=int, default=2024, help="seed for grouping and the simulated people"
    )
    p.add_argument("--db", metavar="PATH", help="keep the database here (default: a temporary one)")
    p.add_argument(
        "--scheduled",
        action="store_true",
        help="plan the brew ahead: answers, a reminder, the card opening and starting by itself",
    )
    p.add_argument(
        "--out", metavar="FOLDER", default=".", help="where to write the report and chart"
    )
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except ContentError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except Exception as exc:
        # Imported only now: most commands never load the migration module (or SQLAlchemy).
        from bot.db.migrate import MigrationLockTimeout

        if not isinstance(exc, MigrationLockTimeout):
            raise
        print(str(exc), file=sys.stderr)
        return EXIT_BUSY
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
