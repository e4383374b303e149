"""``lms-graph``: serve the API, print the demo config, export the schema."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from graph.config import DEMO_CONFIG, AppConfig, ConfigError, demo_config, load_config

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lms-graph", description="One GraphQL endpoint over every LMS."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="run the GraphQL server (the embedded demo when no config is given)"
    )
    serve.add_argument(
        "--config",
        default=os.environ.get("LMS_GRAPH_CONFIG"),
        help="TOML config file (default: $LMS_GRAPH_CONFIG, else the embedded demo)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    commands.add_parser("demo-config", help="print the TOML config the embedded demo uses")
    return parser


def _serve(config: AppConfig, host: str, port: int, log_level: str) -> None:
    import uvicorn

    from graph.app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(config), host=host, port=port, log_level=log_level)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo-config":
        sys.stdout.write(DEMO_CONFIG)
        return 0
    if args.command == "export-schema":
        from graph.schema import schema_sdl

        if args.output:
            Path(args.output).write_text(schema_sdl(), encoding="utf-8")
        else:
            sys.stdout.write(schema_sdl())
        return 0
    try:
        config = load_config(args.config) if args.config else demo_config()
    except ConfigError as exc:
        print(f"lms-graph: {exc}", file=sys.stderr)
        return 2
    _serve(config, args.host, args.port, args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
