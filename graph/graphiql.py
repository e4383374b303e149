"""GraphiQL as lms-graph serves it: Strawberry's page, its assets from a local directory.

Strawberry's GraphiQL page loads seven pinned scripts and styles from unpkg.com, so on a
machine without internet it never gets past "Loading...". ``lms-graph graphiql install``
downloads exactly those files (the versions and SRI hashes are read from the page Strawberry
ships, so an upgrade of Strawberry moves them along) from the npm registry into a directory
that mirrors unpkg's layout, ``<package>@<version>/<file>``. When every file is there the page
points at ``/graphiql/...`` on this server; otherwise it keeps the CDN.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

__all__ = [
    "ASSETS_ROUTE",
    "CDN",
    "DEFAULT_QUERY",
    "GraphiQLAsset",
    "GraphiQLInstallError",
    "GraphiQLPage",
    "default_assets_dir",
    "install_assets",
    "missing_assets",
    "pinned_assets",
]

logger = logging.getLogger("lms_graph")

CDN = "https://unpkg.com/"
#: Where the server mounts the assets directory.
ASSETS_ROUTE = "/graphiql"

#: The page's starting query: the README's "Try it" traversal (users, their progressions,
#: revisions, courses and skills), the query every part of lms-graph is measured on.
DEFAULT_QUERY = """\
{
  users(first: 50) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id firstName lastName email
        progressions(first: 20) {
          edges { node {
            id status enrolledAt completedAt
            revision { id title status course { id title skills { id name } } }
          } }
        }
      }
    }
  }
}
"""

# Each asset tag of Strawberry's page: the CDN URL, then its integrity attribute.
_ASSET = re.compile(
    r'(?:src|href)="' + re.escape(CDN) + r'(?P<path>[^"]+)"\s+integrity="(?P<integrity>[^"]+)"'
)
_SPEC = re.compile(r"(?P<package>(?:@[^/@]+/)?[^/@]+)@(?P<version>[^/]+)/(?P<file>.+)")
_EXAMPLE_QUERY = re.compile(r"const EXAMPLE_QUERY = `.*?`;", re.DOTALL)


class GraphiQLInstallError(RuntimeError):
    """The assets could not be installed; the message says why and is safe to print."""


@dataclass(frozen=True)
class GraphiQLAsset:
    """One file the page loads, as ``<package>@<version>/<file>`` under the CDN."""

    path: str
    integrity: str

    @property
    def package(self) -> str:
        return self._spec["package"]

    @property
    def version(self) -> str:
        return self._spec["version"]

    @property
    def file(self) -> str:
        return self._spec["file"]

    @property
    def _spec(self) -> dict[str, str]:
        match = _SPEC.fullmatch(self.path)
        if match is None:
            raise ValueError(f"not a <package>@<version>/<file> path: {self.path}")
        return match.groupdict()

    def matches(self, content: bytes) -> bool:
        """Whether ``content`` has the page's subresource-integrity hash."""
        algorithm, _, expected = self.integrity.partition("-")
        digest = hashlib.new(algorithm, content).digest()
        return base64.b64encode(digest).decode() == expected


@cache
def _strawberry_page() -> str:
    return get_graphql_ide_html(graphql_ide="graphiql")


def pinned_assets() -> tuple[GraphiQLAsset, ...]:
    """The files Strawberry's GraphiQL page loads from the CDN, with their SRI hashes."""
    return tuple(
        GraphiQLAsset(m["path"], m["integrity"]) for m in _ASSET.finditer(_strawberry_page())
    )


def default_assets_dir() -> Path:
    """Per user, outside any checkout: ``$XDG_DATA_HOME/lms-graph/graphiql``."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "lms-graph" / "graphiql"


def missing_assets(directory: Path, *, verify: bool = False) -> list[GraphiQLAsset]:
    """The pinned assets absent from ``directory``, or (``verify``) not matching their hash.

    The server only checks presence on each page: the browser checks the hash itself.
    """
    return [
        asset
        for asset in pinned_assets()
        if not (directory / asset.path).is_file()
        or (verify and not asset.matches((directory / asset.path).read_bytes()))
    ]


def _npm_pack(npm: str, specs: list[str], into: Path) -> dict[str, Path]:
    """Downloads each ``package@version`` tarball from the npm registry; by spec."""
    try:
        result = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
            [npm, "pack", *specs, "--json", "--pack-destination", str(into)],
            cwd=into,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except FileNotFoundError:
        raise GraphiQLInstallError(
            f"{npm!r} not found: installing GraphiQL needs npm (Debian: apt-get install npm)"
        ) from None
    except subprocess.TimeoutExpired:
        raise GraphiQLInstallError("npm pack did not finish within 300 s") from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise GraphiQLInstallError(f"npm pack failed ({result.returncode}): {last}")
    packed = json.loads(result.stdout)
    return {f"{p['name']}@{p['version']}": into / p["filename"] for p in packed}


def _read_member(tarball: Path, file: str) -> bytes:
    # npm tarballs hold the package under "package/"; read by name, never extract blindly.
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.extractfile(f"package/{file}")
        if member is None:
            raise GraphiQLInstallError(f"{tarball.name} has no file {file}")
        return member.read()


def install_assets(directory: Path, npm: str = "npm") -> list[GraphiQLAsset]:
    """Downloads the pinned assets into ``directory``; a no-op for intact files already there.

    Every file is checked against the page's SRI hash before it is written, and written
    under a temporary name first, so an interrupted install never leaves a half file.

    Returns:
        The assets that were downloaded (empty when all were installed already).
    """
    wanted = missing_assets(directory, verify=True)
    if not wanted:
        return []
    specs = sorted({f"{a.package}@{a.version}" for a in wanted})
    with tempfile.TemporaryDirectory(prefix="lms-graph-graphiql-") as tmp:
        tarballs = _npm_pack(npm, specs, Path(tmp))
        for asset in wanted:
            tarball = tarballs.get(f"{asset.package}@{asset.version}")
            if tarball is None:
                raise GraphiQLInstallError(f"npm did not return {asset.package}@{asset.version}")
            content = _read_member(tarball, asset.file)
            if not asset.matches(content):
                raise GraphiQLInstallError(
                    f"{asset.path} from npm does not match the page's integrity hash"
                )
            target = directory / asset.path
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            partial.write_bytes(content)
            partial.replace(target)
    return wanted


class GraphiQLPage:
    """The GraphiQL HTML: local assets when installed (else the CDN), the canonical query.

    Whether the assets are installed is read once, here: an install takes effect at the
    next start of the server.

    Args:
        assets_dir: Where ``lms-graph graphiql install`` put the assets.
    """

    def __init__(self, assets_dir: Path) -> None:
        self.assets_dir = assets_dir
        self.installed = bool(pinned_assets()) and not missing_assets(assets_dir)
        self._page = _strawberry_page()
        if _EXAMPLE_QUERY.search(self._page) is None or not pinned_assets():
            # A Strawberry upgrade changed its page: serve it as it is rather than break it.
            logger.warning("GraphiQL: Strawberry's page has an unknown shape; serving it as is")
        else:
            query = json.dumps(DEFAULT_QUERY).replace("</", "<\\/")
            self._page = _EXAMPLE_QUERY.sub(
                lambda _: f"const EXAMPLE_QUERY = {query};", self._page, count=1
            )

    def html(self, root_path: str = "") -> str:
        """The page; ``root_path`` is where the app is mounted (ASGI ``root_path``)."""
        if not self.installed:
            return self._page
        return self._page.replace(f'"{CDN}', f'"{root_path}{ASSETS_ROUTE}/')
