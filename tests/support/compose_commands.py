#!/usr/bin/env python3
"""The container commands the documentation gives work with Compose v1 as well as v2.

Every `docker compose ...` command line in README.md, docs/docker.md and the comments of
docker-compose.yml is written for Compose v2; the same line with `docker-compose` must
work with Compose v1. This checks what can be checked without a Docker engine: that
`docker-compose` (v1) knows each subcommand and each of its options as written (from
`docker-compose SUBCOMMAND --help`), and that the services named exist in
docker-compose.yml (or an override file the docs define). Compose v2's CLI is a superset
of v1's for these subcommands, so a line that passes here is one both accept.

Usage: compose_commands.py DOCKER_COMPOSE_BINARY. Prints one line per command; exits 1
if any fails.
"""
import re
import shlex
import subprocess
import sys

import yaml

FILES = ["README.md", "docs/docker.md", "docker-compose.yml"]
# Services a doc defines in an override file of its own (docs/docker.md: my-service.yml).
EXTRA_SERVICES = {"my-service"}
# Global options before the subcommand that take a value.
GLOBAL_WITH_VALUE = {"-f", "--file", "-p", "--project-name", "--env-file", "--project-directory"}


def command_lines(path):
    """Each `docker compose ...` command in the file, continuation lines joined."""
    text = open(path, encoding="utf-8").read().replace("\\\n", " ")
    for line in text.splitlines():
        for m in re.finditer(r"docker compose ([^`#|>&;]*)", line):
            yield m.group(1).strip()


def help_text(binary, sub, cache={}):
    if sub not in cache:
        r = subprocess.run([binary, sub, "--help"], capture_output=True, text=True)
        cache[sub] = r.stdout + r.stderr if r.returncode == 0 else None
    return cache[sub]


def main():
    binary = sys.argv[1]
    services = set(yaml.safe_load(open("docker-compose.yml", encoding="utf-8"))["services"]) | EXTRA_SERVICES
    failed = checked = 0
    for path in FILES:
        for line in command_lines(path):
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            i = 0
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in GLOBAL_WITH_VALUE else 1
            if i >= len(words):
                continue
            sub, problems = words[i], []
            usage = help_text(binary, sub)
            if usage is None:
                problems.append(f"v1 has no subcommand '{sub}'")
            else:
                for word in words[i + 1:]:
                    if word in services:
                        break  # what follows is the container's command
                    if word.startswith("-"):
                        option = word.split("=", 1)[0]
                        if not re.search(r"(^|[\s,\[])" + re.escape(option) + r"([\s,=\]]|$)", usage, re.M):
                            problems.append(f"v1's '{sub}' has no option {option}")
                named = [w for w in words[i + 1:] if w in services]
                if sub in ("run", "exec", "restart") and not named:
                    problems.append("no service of docker-compose.yml named")
            checked += 1
            if problems:
                failed = 1
                print(f"  FAIL: {path}: docker compose {line}: " + "; ".join(problems))
    if checked == 0:
        print("  FAIL: no docker compose command found in " + ", ".join(FILES))
        return 1
    if not failed:
        print(f"  ok: the {checked} docker compose command lines of the docs work with docker-compose (v1) too")
    return failed


if __name__ == "__main__":
    sys.exit(main())
