"""The Dockerfile as BuildKit's parser reads it, and its steps run on this machine.

No container engine runs here (nor in CI), so the tests run what each step runs: the build
stage's commands in a copy of the build context, the runtime stage's install into a fresh
venv standing for the image's Python, then the image's ENTRYPOINT, CMD and HEALTHCHECK.
Container paths are mapped to folders of the test; nothing else is rewritten."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dockerfile
from docker.utils.build import exclude_paths

__all__ = ["Stage", "build_context", "copy_context", "run_step", "stages"]


@dataclass(frozen=True)
class Stage:
    """One ``FROM`` and the instructions up to the next."""

    base: str
    name: str | None
    instructions: tuple[dockerfile.Command, ...]

    def all(self, cmd: str) -> list[dockerfile.Command]:
        return [i for i in self.instructions if i.cmd == cmd.upper()]

    def one(self, cmd: str) -> dockerfile.Command:
        (found,) = self.all(cmd)
        return found

    def env(self) -> dict[str, str]:
        """The image's environment: its ``ENV``s."""
        pairs: dict[str, str] = {}
        for instruction in self.all("ENV"):
            values = instruction.value
            pairs.update(zip(values[::2], values[1::2], strict=True))
        return pairs

    def run_env(self) -> dict[str, str]:
        """What a ``RUN`` sees: each ``ARG``'s default too."""
        pairs: dict[str, str] = {}
        for instruction in self.all("ARG"):
            (declaration,) = instruction.value
            name, _, default = declaration.partition("=")
            pairs[name] = " ".join(shlex.split(default))
        return pairs | self.env()


def stages(path: Path) -> list[Stage]:
    found: list[Stage] = []
    for instruction in dockerfile.parse_file(str(path)):
        if instruction.cmd == "FROM":
            value = instruction.value
            name = value[2] if len(value) == 3 and value[1].upper() == "AS" else None
            found.append(Stage(value[0], name, ()))
        elif found:
            last = found[-1]
            found[-1] = Stage(last.base, last.name, (*last.instructions, instruction))
    return found


def build_context(root: Path) -> set[str]:
    """The paths Docker sends as the build context of ``root`` (files and folders)."""
    ignore = root / ".dockerignore"
    patterns = [
        line.strip()
        for line in ignore.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return set(exclude_paths(str(root), patterns, dockerfile="Dockerfile"))


def copy_context(root: Path, target: Path) -> None:
    """Exactly the build context's files of ``root``, copied under ``target``."""
    for relative in sorted(build_context(root)):
        source = root / relative
        if source.is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)


def run_step(command: str, cwd: Path, env: Mapping[str, str], paths: Mapping[str, Path]) -> str:
    """A ``RUN`` (shell form) with container ``paths`` mapped; its output, or a failure
    that shows it."""
    for inside, outside in sorted(paths.items(), key=lambda item: -len(item[0])):
        command = command.replace(inside, str(outside))
    done = subprocess.run(  # noqa: S603 - the Dockerfile's own command
        ["/bin/sh", "-c", command],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"RUN {command}\n{done.stdout}\n{done.stderr}"
    return done.stdout
