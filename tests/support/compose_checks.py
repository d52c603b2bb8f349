#!/usr/bin/env python3
"""Properties of the container stack that tests/test_compose.sh asserts without Docker.

Reads the configuration `docker-compose config` resolved (so defaults, variables and
short syntax are already expanded), the Dockerfile, .dockerignore,
deploy/prometheus/prometheus.yml and scenarios/compose/*.ini, and checks that:
  - orderd publishes its public port and nothing else; no service publishes the debug
    port or shares orderd's network namespace with the host or another service;
  - orderd, Prometheus and every compose scenario reach the debug port with the token
    from the `debug_token` secret, and the secret resolves to the file it should;
  - the images run as a non-root user, orderd's has a HEALTHCHECK on /healthz, and
    neither EXPOSEs the debug port;
  - the Dockerfile's build stage installs the build packages of scripts/deps.sh;
  - the build context carries what the Dockerfile copies and no token file.
Prints one line per check; exits 1 if any fails.
"""
import argparse
import configparser
import glob
import os
import re
import shlex
import stat
import sys
from urllib.parse import urlsplit

import yaml
from docker.utils.build import exclude_paths

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEV_TOKEN = os.path.join(ROOT, "deploy", "secrets", "dev-debug-token")
SECRET = "debug_token"

# The tools loadlab runs, which its runtime image must carry.
RUNTIME_TOOLS = {"wrk", "gnuplot-nox"}

failures = 0


def check(ok, what, detail=""):
    """Prints the verdict on one property; counts a failure."""
    global failures
    if ok:
        print("  ok: " + what)
    else:
        failures += 1
        print("  FAIL: " + what + (" (" + detail + ")" if detail else ""))
    return ok


# ---------------------------------------------------------------- compose helpers

def port_range(text):
    """'8080' or '8000-8010' -> range of ints."""
    text = str(text).split("/")[0]
    low, _, high = text.partition("-")
    return range(int(low), int(high or low) + 1)


def published_ports(service):
    """[(host_ip, container ports range)] for every port the service publishes,
    in the short ("[IP:][HOST:]CONTAINER[/proto]") or the long syntax."""
    result = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            result.append((str(entry.get("host_ip", "")), port_range(entry["target"])))
            continue
        text = str(entry).split("/")[0]
        host_ip = ""
        if text.startswith("["):  # [::1]:9090:9090
            host_ip, _, text = text[1:].partition("]:")
        parts = text.split(":")
        if len(parts) == 3:
            host_ip = parts[0]
        result.append((host_ip, port_range(parts[-1])))
    return result


def flag_value(argv, flag):
    """Value of --flag VALUE or --flag=VALUE in argv, or None."""
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1:]
    return None


def host_port(address):
    """'0.0.0.0:6060' -> ('0.0.0.0', 6060)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def secret_path(service, name=SECRET):
    """Where the service sees secret `name`, or None if it is not given it."""
    for entry in service.get("secrets") or []:
        source = entry if isinstance(entry, str) else entry.get("source")
        if source == name:
            target = name if isinstance(entry, str) else entry.get("target", name)
            return target if target.startswith("/") else "/run/secrets/" + target
    return None


def as_argv(value):
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


# ---------------------------------------------------------------- Dockerfile helpers

def dockerfile_instructions(path):
    """[(KEYWORD, arguments)] with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    with open(path) as f:
        for line in f:
            stripped = line.strip()
            if stripped.startswith("#") or not stripped:
                continue
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            text = pending + stripped
            pending = ""
            keyword, _, rest = text.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerfile_stages(instructions):
    """{stage name: {"base", "index", "body"}} with ARG defaults expanded in FROM."""
    args, stages, current = {}, {}, None
    for keyword, rest in instructions:
        if keyword == "ARG" and current is None:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            words = [w for w in words if not w.startswith("--")]
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            current = {"base": base, "index": len(stages), "body": []}
            stages[name] = current
        elif current is not None:
            current["body"].append((keyword, rest))
    return stages


def stage_chain(stages, name):
    """The stage and the stages it is built FROM, nearest first."""
    chain = []
    while name in stages:
        chain.append(stages[name])
        name = stages[name]["base"]
    return chain


def apt_packages(body):
    """Packages named by apt-get/apt install in a stage's RUN instructions."""
    packages = []
    for keyword, rest in body:
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|\|\||;|\|", rest):
            words = shlex.split(command)
            words = [w for w in words if not re.match(r"^\w+=", w)]
            if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
                after = words[words.index("install") + 1:]
                packages += [w for w in after if not w.startswith("-")]
    return packages


def effective(stages, name, keyword):
    """The last KEYWORD instruction in effect for stage `name` (inherited from bases)."""
    for stage in stage_chain(stages, name):
        values = [rest for k, rest in stage["body"] if k == keyword]
        if values:
            return values[-1]
    return None


def is_root(user):
    """True for no USER, root, uid 0, or a user only a build argument decides."""
    if user is None:
        return True
    name = user.split(":")[0].strip()
    return name in ("", "root", "0") or name.startswith("$")


# ---------------------------------------------------------------- the checks

def check_compose(config, real_config, real_token):
    services = config.get("services", {})
    for name in ("orderd", "loadlab", "prometheus"):
        check(name in services, "compose has a service named " + name)
    if failures:
        return None
    orderd, loadlab, prometheus = (services[n] for n in ("orderd", "loadlab", "prometheus"))

    # the secret, with its development default and with a real token
    dev_file = config.get("secrets", {}).get(SECRET, {}).get("file", "")
    check(os.path.realpath(dev_file) == os.path.realpath(DEV_TOKEN),
          "secret %s defaults to deploy/secrets/dev-debug-token" % SECRET, dev_file)
    if os.path.isfile(DEV_TOKEN):
        mode = os.stat(DEV_TOKEN).st_mode
        check(os.path.getsize(DEV_TOKEN) > 0 and mode & stat.S_IROTH,
              "the development token is non-empty and readable by the containers' users")
    else:
        check(False, "the development token file exists", DEV_TOKEN)
    real_file = real_config.get("secrets", {}).get(SECRET, {}).get("file", "")
    check(os.path.realpath(real_file) == os.path.realpath(real_token),
          "LOADLAB_DEBUG_TOKEN_FILE replaces the development token", real_file)

    # orderd: listens where compose says, publishes the public port only
    argv = as_argv(orderd.get("command"))
    listen, debug_listen = flag_value(argv, "--listen"), flag_value(argv, "--debug-listen")
    if not check(listen and debug_listen,
                 "orderd's compose command sets --listen and --debug-listen", " ".join(argv)):
        return None
    public_port = host_port(listen)[1]
    debug_host, debug_port = host_port(debug_listen)
    orderd_ports = published_ports(orderd)
    check(orderd_ports and all(list(r) == [public_port] for _, r in orderd_ports),
          "orderd publishes its public port %d and nothing else" % public_port,
          str(orderd.get("ports")))
    for name, service in services.items():
        check(not any(debug_port in r for _, r in published_ports(service)),
              "%s does not publish the debug port %d" % (name, debug_port),
              str(service.get("ports")))
        mode = str(service.get("network_mode", ""))
        check(mode == "" or mode.startswith("bridge") or mode == "none",
              "%s shares no network namespace with the host or another container" % name,
              "network_mode: " + mode)

    token_in_orderd = secret_path(orderd)
    check(token_in_orderd is not None, "orderd is given the %s secret" % SECRET)
    check(flag_value(argv, "--debug-token-file") == token_in_orderd,
          "orderd's --debug-token-file is the secret", str(flag_value(argv, "--debug-token-file")))
    check(debug_host not in ("127.0.0.1", "localhost", "::1"),
          "orderd's debug port listens on the compose network (Prometheus, loadlab reach it)")

    # Prometheus: official image, the token, the mounted config
    image = str(prometheus.get("image", ""))
    check(image.startswith(("prom/prometheus:", "quay.io/prometheus/prometheus:"))
          and not image.endswith(":latest"),
          "prometheus runs the official image at a pinned version", image)
    token_in_prometheus = secret_path(prometheus)
    check(token_in_prometheus is not None, "prometheus is given the %s secret" % SECRET)
    check(all(ip in ("127.0.0.1", "::1", "localhost") for ip, _ in published_ports(prometheus)),
          "prometheus is published on loopback only", str(prometheus.get("ports")))
    prom_argv = as_argv(prometheus.get("command"))
    config_file = flag_value(prom_argv, "--config.file") or "/etc/prometheus/prometheus.yml"
    mounted = False
    for volume in prometheus.get("volumes") or []:
        source, target = (volume.get("source"), volume.get("target")) if isinstance(volume, dict) \
            else (volume.split(":")[0], volume.split(":")[1])
        if os.path.realpath(str(source)) == os.path.join(ROOT, "deploy", "prometheus") \
                and os.path.dirname(config_file) == target.rstrip("/"):
            mounted = True
    check(mounted, "prometheus reads deploy/prometheus/prometheus.yml as " + config_file)
    check_prometheus_config(debug_port, token_in_prometheus)

    # loadlab: after orderd is healthy, results on a volume at /data, with the token
    depends = loadlab.get("depends_on") or {}
    check(isinstance(depends, dict) and
          (depends.get("orderd") or {}).get("condition") == "service_healthy",
          "loadlab waits until orderd is healthy")
    targets = [v.get("target") if isinstance(v, dict) else v.split(":")[1]
               for v in loadlab.get("volumes") or []]
    check("/data" in targets, "loadlab has a volume at /data", str(targets))
    run = " ".join(as_argv(loadlab.get("entrypoint")) + as_argv(loadlab.get("command")))
    check(re.search(r"--db /data/\S+", run) and re.search(r"--report /data/\S+", run),
          "loadlab writes results.db and the report under /data", run)
    token_in_loadlab = secret_path(loadlab)
    check(token_in_loadlab is not None, "loadlab is given the %s secret" % SECRET)
    pattern = (loadlab.get("environment") or {}).get("LOADLAB_SCENARIOS", "")
    scenarios = sorted(glob.glob(os.path.join(ROOT, pattern))) if pattern else []
    check(scenarios, "loadlab's default LOADLAB_SCENARIOS names scenario files", pattern)
    check_scenarios(scenarios, public_port, debug_port, token_in_loadlab)
    targets = {n: (s.get("build") or {}).get("target") for n, s in services.items()}
    return targets, debug_port, token_in_orderd


def check_prometheus_config(debug_port, token_path):
    with open(os.path.join(ROOT, "deploy", "prometheus", "prometheus.yml")) as f:
        prom = yaml.safe_load(f)
    want = "orderd:%d" % debug_port
    jobs = [job for job in prom.get("scrape_configs") or []
            if any(want in (sc.get("targets") or []) for sc in job.get("static_configs") or [])]
    if not check(len(jobs) == 1, "prometheus.yml has one job scraping " + want):
        return
    job = jobs[0]
    auth = job.get("authorization") or {}
    used = auth.get("credentials_file") or job.get("bearer_token_file")
    check(used == token_path and auth.get("type", "Bearer") == "Bearer",
          "prometheus scrapes orderd with the bearer token file %s" % token_path, str(used))
    check(job.get("metrics_path", "/metrics") == "/metrics",
          "prometheus scrapes /metrics")
    check(not auth.get("credentials") and not job.get("bearer_token"),
          "prometheus.yml holds no token itself")


def check_scenarios(files, public_port, debug_port, token_path):
    faults = 0
    for path in files:
        name = os.path.relpath(path, ROOT)
        ini = configparser.ConfigParser(interpolation=None, strict=False,
                                        inline_comment_prefixes=(";", "#"))
        try:
            ini.read(path)
        except configparser.Error as e:
            check(False, name + " parses", str(e))
            continue
        service = ini["service"] if ini.has_section("service") else {}
        url = urlsplit(service.get("url", ""))
        metrics = urlsplit(service.get("metrics", ""))
        check("command" not in service and url.hostname == "orderd" and url.port == public_port,
              "%s drives orderd by URL on port %d" % (name, public_port), service.get("url"))
        check(metrics.hostname == "orderd" and metrics.port == debug_port,
              "%s samples orderd's debug port %d" % (name, debug_port), service.get("metrics"))
        check(service.get("token_file") == token_path,
              "%s sends the token from %s" % (name, token_path), service.get("token_file"))
        faults += sum(1 for s in ini.sections() if s.startswith("phase.") and ini[s].get("fault"))
    check(faults > 0, "the compose suite sets at least one fault through the debug API")


def check_dockerfile(targets, debug_port, token_path, deps_packages):
    instructions = dockerfile_instructions(os.path.join(ROOT, "Dockerfile"))
    stages = dockerfile_stages(instructions)
    names = list(stages)
    final = max(names, key=lambda n: stages[n]["index"])
    for name, stage in stages.items():
        base = stage["base"]
        check(base in stages or re.match(r"^(docker\.io/)?(library/)?debian:(12|bookworm)\b", base),
              "Dockerfile stage %r is built on Debian 12" % name, base)

    for service, target in targets.items():
        if service != "prometheus":
            check(target in stages, "compose builds %s from Dockerfile stage %r" % (service, target))
    runtime = sorted({t for s, t in targets.items() if t in stages} | {final})
    for name in runtime:
        user = effective(stages, name, "USER")
        check(not is_root(user), "image %r runs as a non-root USER" % name, str(user))
    orderd = targets.get("orderd")
    for name in sorted({orderd, final} & set(stages)):
        health = effective(stages, name, "HEALTHCHECK") or ""
        check(health and not health.upper().startswith("NONE") and "/healthz" in health,
              "image %r has a HEALTHCHECK on /healthz" % name, health)
        check(":%d/healthz" % debug_port in health,
              "image %r checks health on the debug port %d" % (name, debug_port), health)
    # the check must send the token where compose mounts it, or orderd never turns
    # healthy and loadlab never starts
    with open(os.path.join(ROOT, "deploy", "docker", "orderd-healthcheck")) as f:
        default = re.search(r"ORDERD_DEBUG_TOKEN_FILE:-([^}]+)\}", f.read())
    check(default and default.group(1) == token_path,
          "the health check reads the token from %s" % token_path,
          default.group(1) if default else "no default")
    for name in runtime:
        exposed = " ".join(rest for stage in stage_chain(stages, name)
                           for k, rest in stage["body"] if k == "EXPOSE")
        check("6060" not in re.findall(r"\d+", exposed),
              "image %r does not EXPOSE the debug port (docker run -P would publish it)" % name)

    # the build stage is the one that runs make; its packages are deps.sh's
    builders = [n for n in names if any(k == "RUN" and re.search(r"\bmake\b", r)
                                        for k, r in stages[n]["body"])]
    if not check(len(builders) == 1, "one Dockerfile stage runs make", str(builders)):
        return
    build = set(apt_packages(stages[builders[0]]["body"]))
    deps = set(deps_packages.split())
    check(not build - deps, "the build stage installs nothing scripts/deps.sh does not",
          " ".join(sorted(build - deps)))
    missing = deps - build
    check(not missing, "the build stage installs every build package of scripts/deps.sh",
          "missing: " + " ".join(sorted(missing)))
    loadlab = targets.get("loadlab")
    in_loadlab = set(p for stage in stage_chain(stages, loadlab) for p in apt_packages(stage["body"]))
    check(RUNTIME_TOOLS <= in_loadlab,
          "the loadlab image installs the tools it runs: " + " ".join(sorted(RUNTIME_TOOLS)),
          "missing: " + " ".join(sorted(RUNTIME_TOOLS - in_loadlab)))

    # the build context (.dockerignore applied as Docker applies it)
    patterns = []
    if os.path.exists(os.path.join(ROOT, ".dockerignore")):
        with open(os.path.join(ROOT, ".dockerignore")) as f:
            patterns = [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]
    context = exclude_paths(ROOT, patterns)
    leaked = sorted(p for p in context if p.startswith("deploy/secrets/") or p.startswith(".git/"))
    check(not leaked, "the build context holds no token file and no .git", " ".join(leaked[:5]))
    for keyword, rest in instructions:
        if keyword not in ("COPY", "ADD") or "--from=" in rest:
            continue
        words = [w for w in shlex.split(rest) if not w.startswith("--")]
        for source in words[:-1]:
            source = source.rstrip("/")
            if not check(os.path.exists(os.path.join(ROOT, source)),
                         "%s, which the Dockerfile copies, exists" % source,
                         "docker build would fail at this COPY"):
                continue
            check(source in context,
                  "the build context carries %s (.dockerignore lets it through)" % source)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="docker-compose config output, defaults")
    parser.add_argument("--real-config", required=True,
                        help="docker-compose config output with LOADLAB_DEBUG_TOKEN_FILE set")
    parser.add_argument("--real-token", required=True, help="the token file given there")
    parser.add_argument("--deps-packages", required=True, help="scripts/deps.sh's packages")
    opts = parser.parse_args()
    with open(opts.config) as f:
        config = yaml.safe_load(f)
    with open(opts.real_config) as f:
        real_config = yaml.safe_load(f)
    found = check_compose(config, real_config, opts.real_token)
    if found:
        check_dockerfile(*found, opts.deps_packages)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
