#!/usr/bin/python3
"""Properties of deploy/kubernetes/ that tests/integration/test_kubernetes.sh asserts
without a cluster (kubectl's dry run needs an API server, even client-side).

Checks that:
  - every manifest parses, and every object has a known kind for its apiVersion, a
    name, and the namespace loadlab (or monitoring for Prometheus' scrape job);
  - every Deployment's and Job's selector matches its pod template's labels, and every
    Service's selector matches some workload's pod labels and targets a named port the
    pods declare;
  - the debug port (6060, named "debug") is published only by ClusterIP Services: no
    NodePort, LoadBalancer, externalIPs, hostPort or hostNetwork, no Ingress at all;
  - orderd's containers have readiness and liveness probes on /readyz and /healthz,
    resource requests and limits, and run as non-root uid 10001, as the images do;
  - the debug token comes only from the Secret orderd-debug-token, mounted as a file
    (never an env value, an argument, or a Secret object in the repository);
  - the Job is an Indexed Job with parallelism, restartPolicy Never and backoffLimit
    0, whose container runs `loadlab run ... SCENARIO` with options loadlab knows and
    a scenario file that exists under scenarios/ (which the Dockerfile copies into the
    image) and reads the fleet through Prometheus;
  - Prometheus' scrape job (and the ServiceMonitor) picks the pods by the annotations
    the Deployment sets and sends the token from a file or the Secret.
Prints one line per check; exits 1 if any fails.
"""
import configparser
import glob
import os
import re
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DIR = os.path.join(ROOT, "deploy", "kubernetes")
DEBUG_PORT = 6060
UID = 10001
SECRET = "orderd-debug-token"

KNOWN = {
    ("v1", "Namespace"), ("v1", "Service"), ("v1", "ConfigMap"), ("v1", "Secret"),
    ("v1", "PersistentVolumeClaim"), ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"), ("batch/v1", "Job"),
    ("networking.k8s.io/v1", "NetworkPolicy"), ("networking.k8s.io/v1", "Ingress"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
}
# loadlab run's options that take a value, and those that do not (cmd/run.c)
RUN_VALUE_OPTS = {"--db", "--label", "--junit", "--report", "--repeat", "--baseline", "--baseline-env"}
RUN_FLAG_OPTS = {"--quiet", "--capture", "--no-evidence"}

failures = 0


def check(ok, what, detail=""):
    global failures
    if ok:
        print("  ok: " + what)
    else:
        failures += 1
        print("  FAIL: " + what + (" (" + detail + ")" if detail else ""))
    return ok


def load_all():
    objects = []
    for path in sorted(glob.glob(os.path.join(DIR, "*.yaml"))):
        name = os.path.relpath(path, ROOT)
        try:
            with open(path) as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            check(False, name + " parses as YAML", str(e).splitlines()[0])
            continue
        check(bool(docs), name + " parses and holds objects")
        objects += [(name, d) for d in docs]
    return objects


def pod_spec(obj):
    return obj.get("spec", {}).get("template", {}).get("spec", {})


def pod_labels(obj):
    return obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}) or {}


def containers(obj):
    spec = pod_spec(obj)
    return (spec.get("containers") or []) + (spec.get("initContainers") or [])


def ident(name, obj):
    return "%s %s/%s" % (name, obj.get("kind"), obj.get("metadata", {}).get("name"))


def check_objects(objects):
    for name, o in objects:
        key = (o.get("apiVersion"), o.get("kind"))
        check(key in KNOWN, ident(name, o) + ": known kind for its apiVersion", "%s %s" % key)
        meta = o.get("metadata", {})
        check(bool(meta.get("name")), ident(name, o) + ": has a name")
        if o.get("kind") != "Namespace":
            check(meta.get("namespace") in ("loadlab", "monitoring"), ident(name, o) + ": in namespace loadlab",
                  str(meta.get("namespace")))
        check(o.get("kind") != "Ingress", ident(name, o) + ": no Ingress (nothing is exposed outside the cluster)")
        check(o.get("kind") != "Secret", ident(name, o) + ": no Secret in the repository (the token is made by hand)")


def check_workloads(objects):
    workloads = [(n, o) for n, o in objects if o.get("kind") in ("Deployment", "Job")]
    for name, o in workloads:
        sel = (o.get("spec", {}).get("selector") or {}).get("matchLabels")
        labels = pod_labels(o)
        if o.get("kind") == "Deployment" or sel:
            check(bool(sel) and all(labels.get(k) == v for k, v in sel.items()),
                  ident(name, o) + ": selector matches the pod template's labels", "%s vs %s" % (sel, labels))
        spec = pod_spec(o)
        sc = spec.get("securityContext", {})
        check(sc.get("runAsNonRoot") is True and sc.get("runAsUser") == UID,
              ident(name, o) + ": runs as non-root uid %d (the image's user)" % UID, str(sc))
        check(not spec.get("hostNetwork") and not spec.get("hostPID"), ident(name, o) + ": no host network or PID")
        for c in containers(o):
            res = c.get("resources", {})
            check(bool(res.get("requests")) and bool(res.get("limits")),
                  ident(name, o) + ": container %s has resource requests and limits" % c.get("name"))
            csc = c.get("securityContext", {})
            check(csc.get("allowPrivilegeEscalation") is False,
                  ident(name, o) + ": container %s cannot escalate privileges" % c.get("name"))
            for p in c.get("ports", []) or []:
                check("hostPort" not in p, ident(name, o) + ": port %s has no hostPort" % p.get("name"))
    return workloads


def declared_ports(workloads, selector):
    """Named ports of the containers of the workloads whose pods the selector matches."""
    ports = {}
    matched = False
    for _, o in workloads:
        labels = pod_labels(o)
        if selector and all(labels.get(k) == v for k, v in selector.items()):
            matched = True
            for c in containers(o):
                for p in c.get("ports", []) or []:
                    ports[p.get("name")] = p.get("containerPort")
    return matched, ports


def check_services(objects, workloads):
    for name, o in objects:
        if o.get("kind") != "Service":
            continue
        spec = o.get("spec", {})
        matched, ports = declared_ports(workloads, spec.get("selector"))
        check(matched, ident(name, o) + ": selector matches a workload's pods", str(spec.get("selector")))
        for p in spec.get("ports", []):
            target = p.get("targetPort", p.get("port"))
            number = ports.get(target, target)
            check(target in ports or target in ports.values(),
                  ident(name, o) + ": targets port %s, which the pods declare" % target)
            if number == DEBUG_PORT or p.get("port") == DEBUG_PORT or target == "debug":
                check(spec.get("type", "ClusterIP") == "ClusterIP" and not spec.get("externalIPs")
                      and "nodePort" not in p,
                      ident(name, o) + ": the debug port is published by a ClusterIP Service only",
                      "type %s" % spec.get("type"))


def check_orderd(objects):
    deployments = [(n, o) for n, o in objects if o.get("kind") == "Deployment"
                   and pod_labels(o).get("app") == "orderd"]
    if not check(len(deployments) == 1, "one orderd Deployment"):
        return
    name, o = deployments[0]
    c = containers(o)[0]
    args = [str(a) for a in c.get("args", []) + c.get("command", [])]
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        p = c.get(probe) or {}
        text = " ".join(p.get("exec", {}).get("command", [])) + str(p.get("httpGet", {}).get("path", ""))
        check(path in text, ident(name, o) + ": %s on %s" % (probe, path), text)
        check("httpGet" not in p or not p["httpGet"].get("httpHeaders"),
              ident(name, o) + ": %s carries no token in the manifest" % probe)
    # the token: a file from the Secret, named on the command line
    token_flag = args.index("--debug-token-file") if "--debug-token-file" in args else -1
    check(token_flag >= 0, ident(name, o) + ": orderd is given --debug-token-file (its debug port is not loopback)")
    token_path = args[token_flag + 1] if token_flag >= 0 else ""
    volumes = {v["name"]: v for v in pod_spec(o).get("volumes", [])}
    from_secret = False
    for m in c.get("volumeMounts", []):
        v = volumes.get(m["name"], {})
        if token_path.startswith(m["mountPath"].rstrip("/") + "/") and v.get("secret", {}).get("secretName") == SECRET:
            from_secret = m.get("readOnly") is True
    check(from_secret, ident(name, o) + ": the token file is mounted read-only from the Secret " + SECRET, token_path)
    for e in c.get("env", []):
        check("value" not in e or "token" not in e["name"].lower() or e["value"].startswith("/"),
              ident(name, o) + ": env %s holds a path, not a token" % e["name"])
        check("secretKeyRef" not in e.get("valueFrom", {}), ident(name, o) + ": no token in the environment")
    annotations = o["spec"]["template"]["metadata"].get("annotations", {})
    check(annotations.get("prometheus.io/scrape") == "true" and annotations.get("prometheus.io/port") == str(DEBUG_PORT),
          ident(name, o) + ": annotated for Prometheus on the debug port")


def check_prometheus(objects):
    maps = [(n, o) for n, o in objects if o.get("kind") == "ConfigMap" and o["metadata"]["name"].startswith("prometheus")]
    if not check(len(maps) == 1, "a ConfigMap with Prometheus' scrape job"):
        return None
    name, o = maps[0]
    jobs = yaml.safe_load(next(iter(o["data"].values())))
    job = jobs[0] if isinstance(jobs, list) and jobs else {}
    check(job.get("job_name") == "orderd", ident(name, o) + ": the scrape job is named orderd")
    check(str(job.get("authorization", {}).get("credentials_file", "")).endswith("/debug_token"),
          ident(name, o) + ": the scrape sends the token from a file")
    relabel = yaml.safe_dump(job.get("relabel_configs", []))
    check("prometheus_io_scrape" in relabel and "prometheus_io_port" in relabel,
          ident(name, o) + ": the job follows the pods' prometheus.io annotations")
    for n, m in objects:
        if m.get("kind") == "ServiceMonitor":
            ep = m["spec"]["endpoints"][0]
            check(ep.get("port") == "debug" and ep.get("authorization", {}).get("credentials", {}).get("name") == SECRET,
                  ident(n, m) + ": scrapes the debug port with the token from the Secret")
    return job


def check_job(objects):
    jobs = [(n, o) for n, o in objects if o.get("kind") == "Job"]
    if not check(len(jobs) == 1, "one loadlab Job"):
        return
    name, o = jobs[0]
    spec = o["spec"]
    check(spec.get("completionMode") == "Indexed" and spec.get("parallelism", 1) >= 2,
          ident(name, o) + ": an Indexed Job with parallelism for several generators")
    check(spec.get("backoffLimit") == 0 and pod_spec(o).get("restartPolicy") == "Never",
          ident(name, o) + ": not retried, so its status is the gates' (backoffLimit 0, restartPolicy Never)")
    c = containers(o)[0]
    argv = [str(a) for a in c.get("command", []) + c.get("args", [])]
    if argv and argv[0] == "loadlab":
        argv = argv[1:]
    ok = bool(argv) and argv[0] == "run"
    scenarios, i = [], 1
    while ok and i < len(argv):
        a = argv[i]
        if a in RUN_VALUE_OPTS:
            ok = i + 1 < len(argv)
            i += 2
        elif a in RUN_FLAG_OPTS:
            i += 1
        elif a.startswith("-"):
            ok = False
        else:
            scenarios.append(a)
            i += 1
    check(ok and bool(scenarios), ident(name, o) + ": runs `loadlab run [options] SCENARIO`", " ".join(argv))
    mounts = [m["mountPath"] for m in c.get("volumeMounts", [])]
    db = argv[argv.index("--db") + 1] if "--db" in argv else ""
    check(any(db.startswith(m.rstrip("/") + "/") for m in mounts), ident(name, o) + ": the results go to a volume", db)
    check("$(JOB_COMPLETION_INDEX)" in db and any(e["name"] == "JOB_COMPLETION_INDEX" for e in c.get("env", [])),
          ident(name, o) + ": each generator writes its own database")
    dockerfile = open(os.path.join(ROOT, "Dockerfile")).read()
    check(re.search(r"^COPY scenarios/ scenarios/", dockerfile, re.M) is not None,
          "the Dockerfile copies scenarios/ into the loadlab image")
    for s in scenarios:
        path = os.path.join(ROOT, s)
        if not check(s.startswith("scenarios/") and os.path.isfile(path),
                     ident(name, o) + ": its scenario %s is in the image" % s):
            continue
        ini = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None)
        ini.read(path)
        service = ini["service"] if ini.has_section("service") else {}
        check(service.get("prometheus", "").startswith("http") and "job=" in service.get("selector", ""),
              ident(name, o) + ": %s reads the fleet through Prometheus" % s)
        check(not service.get("metrics") and not service.get("command"),
              ident(name, o) + ": %s neither spawns a service nor scrapes one pod" % s)


def main():
    objects = load_all()
    check_objects(objects)
    workloads = check_workloads(objects)
    check_services(objects, workloads)
    check_orderd(objects)
    check_prometheus(objects)
    check_job(objects)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
