"""``rag keys add|list|revoke``: API keys with groups, stored (as digests) with the index."""
from __future__ import annotations

import argparse
import datetime
import sys

from ragcli.core_commands import _index_directory, _print_json

__all__ = ["register"]


def cmd_keys_add(args: argparse.Namespace) -> int:
    from domain.keys import issue_key

    try:
        key, token = issue_key(_index_directory(args).keys(), args.name, args.groups, write=args.write)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rights = "reads and writes" if key.write else "reads"
    print(f"key {key.name!r} {rights} the groups {', '.join(key.groups)} (and reads public). Its token, shown "
          "only now (send it as 'Authorization: Bearer TOKEN'):", file=sys.stderr)
    print(token)  # the last line of stdout, alone: `TOKEN=$(rag keys add …)` works
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    keys = _index_directory(args).keys().list()
    if args.json:
        _print_json([key.to_dict() for key in keys])
        return 0
    for key in keys:
        created = datetime.datetime.fromtimestamp(key.created_at, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        print(f"{key.name}  groups {','.join(key.groups)}  {'read+write' if key.write else 'read'}  created {created}")
    print(f"{len(keys)} keys")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    if not _index_directory(args).keys().revoke(args.name):
        print(f"error: no key named {args.name!r}", file=sys.stderr)
        return 1
    print(f"revoked {args.name} (servers stop accepting it within 5 seconds)")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("keys", help="API keys that read (and write) only some groups of documents")
    keys = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    add = keys.add_parser("add", help="make a key; prints its token once, as the last line")
    add.add_argument("name", help="a name for the key (letters, digits, '_', '.', '-')")
    add.add_argument("--groups", required=True, metavar="A,B",
                     help="the groups it reads (besides public) and, with --write, writes")
    add.add_argument("--write", action="store_true", help="it may also add and delete documents within its groups")
    add.set_defaults(handler=cmd_keys_add)
    listing = keys.add_parser("list", help="the keys: names, groups, rights and when made (never the tokens)")
    listing.add_argument("--json", action="store_true", help="print the keys as a JSON list")
    listing.set_defaults(handler=cmd_keys_list)
    revoke = keys.add_parser("revoke", help="delete a key")
    revoke.add_argument("name", help="the key's name (as `rag keys list` shows it)")
    revoke.set_defaults(handler=cmd_keys_revoke)
