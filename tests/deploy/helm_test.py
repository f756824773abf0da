"""Renders helm/smollm-serve with Helm's own Go SDK (PyPI helm-python-sdk) and checks it.

Default values and each option set are rendered offline (no cluster); the rendered
objects' important properties are asserted (probes, security contexts, PDB, ports,
checksums, router config), values the schema must reject are rejected, `helm lint`
passes, and the router's rendered haproxy.cfg is checked by `haproxy -c` when HAProxy is
installed. Every rendered object is validated against the Kubernetes 1.30 API schemas
(kubernetes-validate, strict: unknown fields fail). Run by CTest: helm_test.py --repo .
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml
import helm_python as helm
import kubernetes_validate

ARGS = None
CHART = None
NAME, NAMESPACE = "demo", "ml"
FULL = "demo-smollm-serve"
DOWNLOAD = {"source": "download",
            "download": {"url": "https://example.org/m.gguf", "sha256": "ab" * 32}}
GRPC_PORT = 50051
KUBE_VERSION = "1.30.0"   # the oldest API the chart's native gRPC probes and PDBs need is 1.27


def render(values=None):
    """{(kind, name): object} and the raw manifests, for one set of values."""
    manifests = CHART.render(values=values or {}, name=NAME, namespace=NAMESPACE)
    objects = {}
    for path, text in manifests.items():
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects, manifests


def pod_spec(objects, kind="StatefulSet", name=FULL):
    return objects[(kind, name)]["spec"]["template"]["spec"]


def server(objects):
    return next(c for c in pod_spec(objects)["containers"] if c["name"] == "server")


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


class HelmChartTest(unittest.TestCase):
    def assertRestricted(self, pod, where):
        sc = pod.get("securityContext", {})
        self.assertTrue(sc.get("runAsNonRoot"), where)
        self.assertNotEqual(sc.get("runAsUser", 0), 0, where)
        self.assertEqual(sc.get("seccompProfile", {}).get("type"), "RuntimeDefault", where)
        self.assertIs(pod.get("automountServiceAccountToken"), False, where)
        for c in pod.get("initContainers", []) + pod["containers"]:
            csc = c["securityContext"]
            self.assertIs(csc["allowPrivilegeEscalation"], False, c["name"])
            self.assertIs(csc["readOnlyRootFilesystem"], True, c["name"])
            self.assertEqual(csc["capabilities"]["drop"], ["ALL"], c["name"])
            self.assertNotIn("add", csc["capabilities"], c["name"])
            self.assertFalse(csc.get("privileged", False), c["name"])
            self.assertIn("resources", c, c["name"])
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            self.assertIn("/tmp", mounts, "%s: the root file system is read-only" % c["name"])
        for v in pod.get("volumes", []):
            self.assertNotIn("hostPath", v, where)

    def test_default_values_render_a_complete_release(self):
        objects, manifests = render()
        kinds = sorted(k for k, _ in objects)
        self.assertEqual(kinds, ["ConfigMap", "Pod", "PodDisruptionBudget", "Service", "Service",
                                 "ServiceAccount", "StatefulSet"])
        self.assertIn("kubectl -n ml port-forward", manifests["smollm-serve/templates/NOTES.txt"])
        sts = objects[("StatefulSet", FULL)]
        self.assertEqual(sts["spec"]["serviceName"], FULL + "-headless")
        self.assertEqual(sts["spec"]["replicas"], 2)
        pod = pod_spec(objects)
        self.assertRestricted(pod, "server pod")
        c = server(objects)
        # Native gRPC probes on the serving port; a startup budget for the model load.
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            self.assertEqual(c[probe]["grpc"]["port"], GRPC_PORT, probe)
        startup = c["startupProbe"]
        self.assertGreaterEqual(startup["periodSeconds"] * startup["failureThreshold"], 300)
        # The grace period covers preStop + the server's drain timeout.
        config = objects[("ConfigMap", FULL)]["data"]
        drain = int(config["SMOLLM_DRAIN_TIMEOUT"].rstrip("s"))
        pre_stop = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
        self.assertGreater(pod["terminationGracePeriodSeconds"], drain + pre_stop)
        res = c["resources"]
        self.assertEqual(res["requests"]["memory"], res["limits"]["memory"])
        self.assertNotIn("nvidia.com/gpu", res["limits"])
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports, {"grpc": GRPC_PORT, "metrics": 9464})
        self.assertEqual(config["SMOLLM_PORT"], str(GRPC_PORT))
        self.assertEqual(config["SMOLLM_DEVICE"], "cpu")
        self.assertNotIn("SMOLLM_API_KEYS_FILE", config)
        # The model comes from the default PVC, read-only.
        vols = {v["name"]: v for v in pod["volumes"]}
        self.assertEqual(vols["models"]["persistentVolumeClaim"],
                         {"claimName": "smollm-models", "readOnly": True})
        self.assertNotIn("initContainers", pod)
        self.assertEqual(pod["topologySpreadConstraints"][0]["topologyKey"],
                         "kubernetes.io/hostname")

    def test_services_are_headless_and_cluster_ip_with_grpc_app_protocol(self):
        objects, _ = render({"router": {"enabled": True}})
        pod_labels = objects[("StatefulSet", FULL)]["spec"]["template"]["metadata"]["labels"]
        router_labels = objects[("Deployment", FULL + "-router")]["spec"]["template"]["metadata"]["labels"]
        headless = objects[("Service", FULL + "-headless")]["spec"]
        cluster = objects[("Service", FULL)]["spec"]
        self.assertEqual(headless["clusterIP"], "None")
        self.assertIs(headless["publishNotReadyAddresses"], False)
        self.assertNotIn("clusterIP", cluster)
        self.assertEqual(cluster["type"], "ClusterIP")
        for spec in (headless, cluster):
            self.assertTrue(matches(spec["selector"], pod_labels))
            self.assertFalse(matches(spec["selector"], router_labels))
            ports = {p["name"]: p for p in spec["ports"]}
            self.assertEqual(ports["grpc"]["appProtocol"], "grpc")
            self.assertEqual(ports["grpc"]["port"], GRPC_PORT)
            self.assertEqual(ports["metrics"]["targetPort"], "metrics")
        sts = objects[("StatefulSet", FULL)]["spec"]
        self.assertTrue(matches(sts["selector"]["matchLabels"], pod_labels))
        self.assertFalse(matches(sts["selector"]["matchLabels"], router_labels))

    def test_config_and_key_checksums_follow_their_content(self):
        objects, manifests = render()
        annotations = objects[("StatefulSet", FULL)]["spec"]["template"]["metadata"]["annotations"]
        text = manifests["smollm-serve/templates/configmap.yaml"]
        self.assertEqual(annotations["checksum/config"], hashlib.sha256(text.encode()).hexdigest())
        changed, _ = render({"server": {"flags": {"kv_cache_mib": 2048}}})
        self.assertEqual(changed[("ConfigMap", FULL)]["data"]["SMOLLM_KV_CACHE_MIB"], "2048")
        self.assertNotEqual(changed[("StatefulSet", FULL)]["spec"]["template"]["metadata"]
                            ["annotations"]["checksum/config"], annotations["checksum/config"])
        keyed, _ = render({"apiKeys": {"keys": ["key-one-12345", "key-two-12345"]}})
        secret = keyed[("Secret", FULL + "-api-keys")]
        self.assertEqual(secret["stringData"]["api_keys"].split(), ["key-one-12345", "key-two-12345"])
        self.assertEqual(keyed[("ConfigMap", FULL)]["data"]["SMOLLM_API_KEYS_FILE"],
                         "/etc/smollm/keys/api_keys")
        self.assertIn("checksum/api-keys", keyed[("StatefulSet", FULL)]["spec"]["template"]
                      ["metadata"]["annotations"])
        existing, _ = render({"apiKeys": {"existingSecret": "my-keys"}})
        self.assertFalse(any(k == "Secret" for k, _ in existing))
        vols = {v["name"]: v for v in pod_spec(existing)["volumes"]}
        self.assertEqual(vols["api-keys"]["secret"]["secretName"], "my-keys")

    def test_pdb_has_exactly_one_of_min_available_and_max_unavailable(self):
        for values, field, value in (({}, "maxUnavailable", 1),
                                     ({"podDisruptionBudget": {"minAvailable": "50%",
                                                               "maxUnavailable": None}},
                                      "minAvailable", "50%")):
            objects, _ = render(values)
            spec = objects[("PodDisruptionBudget", FULL)]["spec"]
            self.assertEqual({k for k in spec if k != "selector"}, {field})
            self.assertEqual(spec[field], value)
        for bad in ({"podDisruptionBudget": {"minAvailable": 1}},          # both set
                    {"podDisruptionBudget": {"maxUnavailable": None}}):    # neither
            with self.assertRaises(helm.HelmError, msg=str(bad)):
                render(bad)
        objects, _ = render({"podDisruptionBudget": {"enabled": False}})
        self.assertFalse(any(k == "PodDisruptionBudget" for k, _ in objects))

    def test_unknown_and_malformed_values_are_rejected(self):
        for bad in ({"replica": 3}, {"server": {"flags": {"kv_cache": 1}}},
                    {"router": {"enabled": True, "timeout": "1h"}}, {"model": {"source": "s3"}},
                    {"model": {"download": {"sha256": "xyz"}}}, {"resources": {"memory": "lots"}},
                    {"server": {"flags": {"log_level": "verbose"}}}, {"replicas": 0}):
            with self.assertRaises(helm.HelmError, msg=str(bad)):
                render(bad)
        # Required inputs of a model source that the schema cannot tie to the source.
        for bad in ({"model": {"source": "download"}}, {"model": {"pvc": {"claimName": ""}}}):
            with self.assertRaises(helm.HelmError, msg=str(bad)):
                render(bad)

    def test_model_sources(self):
        objects, _ = render({"model": DOWNLOAD})
        pod = pod_spec(objects)
        init = pod["initContainers"][0]
        self.assertEqual(init["command"], ["/opt/smollm/bin/fetch-gguf.sh"])
        env = {e["name"]: e.get("value") for e in init["env"]}
        self.assertEqual(env, {"SMOLLM_MODEL_URL": "https://example.org/m.gguf",
                               "SMOLLM_MODEL_SHA256": "ab" * 32,
                               "SMOLLM_MODEL": "/models/model.gguf"})
        vols = {v["name"]: v for v in pod["volumes"]}
        self.assertIn("emptyDir", vols["models"])
        self.assertRestricted(pod, "download pod")
        objects, _ = render({"model": {"source": "image"}})
        pod = pod_spec(objects)
        self.assertNotIn("models", {v["name"] for v in pod["volumes"]})
        self.assertEqual({e["name"]: e["value"] for e in server(objects)["env"]},
                         {"SMOLLM_MODEL": "/models/model.gguf"})

    def test_gpu_option(self):
        objects, _ = render({"gpu": {"enabled": True, "runtimeClassName": "nvidia"},
                             "nodeSelector": {"gpu": "h100"},
                             "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                                              "effect": "NoSchedule"}]})
        pod = pod_spec(objects)
        res = server(objects)["resources"]
        self.assertEqual(res["limits"]["nvidia.com/gpu"], 1)
        self.assertEqual(pod["runtimeClassName"], "nvidia")
        self.assertEqual(pod["nodeSelector"], {"gpu": "h100"})
        self.assertEqual(pod["tolerations"][0]["key"], "nvidia.com/gpu")
        self.assertEqual(objects[("ConfigMap", FULL)]["data"]["SMOLLM_DEVICE"], "cuda")

    def test_autoscaling_and_service_monitor(self):
        objects, _ = render({"autoscaling": {"enabled": True, "maxReplicas": 5},
                             "serviceMonitor": {"enabled": True}})
        self.assertNotIn("replicas", objects[("StatefulSet", FULL)]["spec"])
        hpa = objects[("HorizontalPodAutoscaler", FULL)]["spec"]
        self.assertEqual(hpa["scaleTargetRef"], {"apiVersion": "apps/v1", "kind": "StatefulSet",
                                                 "name": FULL})
        self.assertEqual(hpa["maxReplicas"], 5)
        self.assertEqual(hpa["metrics"][0]["pods"]["metric"]["name"], "smollm_requests_waiting")
        self.assertGreaterEqual(hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"], 600)
        monitor = objects[("ServiceMonitor", FULL)]["spec"]
        self.assertEqual(monitor["endpoints"][0]["port"], "metrics")
        selected = [n for (k, n), o in objects.items() if k == "Service" and
                    matches(monitor["selector"]["matchLabels"], o["metadata"]["labels"])]
        self.assertEqual(selected, [FULL], "each pod is scraped through one Service")
        with self.assertRaises(helm.HelmError):
            render({"autoscaling": {"enabled": True, "minReplicas": 4, "maxReplicas": 3}})

    def test_router_uses_the_routing_haproxy_config(self):
        objects, _ = render({"router": {"enabled": True}, "autoscaling": {"enabled": True,
                                                                        "maxReplicas": 4}})
        config = objects[("ConfigMap", FULL + "-router")]["data"]["haproxy.cfg"]
        with open(os.path.join(ARGS.repo, "deploy", "routing", "haproxy.cfg")) as f:
            template = f.read()
        # The same file: every template line is there, placeholders filled.
        for line in template.splitlines():
            if "@" not in line or line.lstrip().startswith("#"):
                self.assertIn(line, config.splitlines())
        self.assertNotIn("@", "".join(l for l in config.splitlines() if not l.lstrip().startswith("#")))
        self.assertIn("  balance hdr(x-session-id)", config)
        self.assertIn("  hash-type consistent", config)
        self.assertIn("  bind :8080 proto h2", config)
        self.assertIn("  timeout server 1h", config)
        servers = [l.split()[1] for l in config.splitlines() if l.startswith("  server ")]
        self.assertEqual(servers, ["%s-%d" % (FULL, i) for i in range(4)])
        self.assertIn("%s-3.%s-headless.ml.svc.cluster.local:50051" % (FULL, FULL), config)
        deployment = objects[("Deployment", FULL + "-router")]
        self.assertRestricted(deployment["spec"]["template"]["spec"], "router pod")
        self.assertIn("checksum/config", deployment["spec"]["template"]["metadata"]["annotations"])
        service = objects[("Service", FULL + "-router")]["spec"]
        self.assertEqual(service["ports"][0]["appProtocol"], "grpc")
        # files/haproxy.cfg links to deploy/routing/haproxy.cfg: a packaged chart holds it.
        with tempfile.TemporaryDirectory() as d:
            with open(CHART.save(d), "rb") as f:
                packaged = helm.Chart.load_archive(f.read())
            again = packaged.render(values={"router": {"enabled": True}, "autoscaling": {
                "enabled": True, "maxReplicas": 4}}, name=NAME, namespace=NAMESPACE)
            self.assertIn(config, again["smollm-serve/templates/router.yaml"].replace("\n    ", "\n"))
        haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
        if haproxy:
            with tempfile.NamedTemporaryFile("w", suffix=".cfg") as f:
                f.write(config)
                f.flush()
                r = subprocess.run([haproxy, "-c", "-f", f.name], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_helm_test_pod_checks_health_and_generates(self):
        objects, _ = render({"apiKeys": {"keys": ["key-one-12345"]}})
        pod = objects[("Pod", FULL + "-test")]
        self.assertEqual(pod["metadata"]["annotations"]["helm.sh/hook"], "test")
        script = pod["spec"]["containers"][0]["args"][0]
        self.assertIn("smollm health --target=\"$target\"", script)
        self.assertIn("smollm generate", script)
        self.assertIn("SMOLLM_API_KEY", script)
        self.assertIn("target=%s:%d" % (FULL, GRPC_PORT), script)
        self.assertRestricted(pod["spec"], "test pod")

    def test_objects_match_the_kubernetes_api_schemas(self):
        full = {"router": {"enabled": True}, "model": DOWNLOAD, "autoscaling": {"enabled": True},
                "serviceMonitor": {"enabled": True}, "apiKeys": {"keys": ["key-one-12345"]},
                "gpu": {"enabled": True, "runtimeClassName": "nvidia"}}
        for values in ({}, full):
            objects, _ = render(values)
            for (kind, name), obj in objects.items():
                if kind == "ServiceMonitor":  # a CRD: no schema in the Kubernetes API
                    self.assertEqual(obj["apiVersion"], "monitoring.coreos.com/v1")
                    continue
                try:
                    kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
                except kubernetes_validate.ValidationError as e:
                    self.fail("%s %s: %s at %s" % (kind, name, e.message, list(e.path)))
        self.assertEqual(len(objects), 13)

    def test_readme_routing_snippets_hash_x_session_id(self):
        with open(os.path.join(CHART_DIR, "README.md")) as f:
            blocks = re.findall(r"```yaml\n(.*?)```", f.read(), re.S)
        docs = [d for b in blocks for d in yaml.safe_load_all(b)]
        istio = next(d for d in docs if d.get("kind") == "DestinationRule")
        self.assertEqual(istio["spec"]["trafficPolicy"]["loadBalancer"]["consistentHash"]
                         ["httpHeaderName"], "x-session-id")
        envoy = next(d for d in docs if "route_config" in d)
        route = envoy["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
        self.assertEqual(route["hash_policy"], [{"header": {"header_name": "x-session-id"}}])
        self.assertEqual(envoy["clusters"][0]["lb_policy"], "RING_HASH")
        grpc_route = next(d for d in docs if d.get("kind") == "GRPCRoute")
        self.assertEqual(grpc_route["spec"]["rules"][0]["backendRefs"][0]["port"], GRPC_PORT)
        policy = next(d for d in docs if d.get("kind") == "BackendTrafficPolicy")
        self.assertEqual(policy["spec"]["targetRefs"][0]["name"], grpc_route["metadata"]["name"])
        self.assertEqual(policy["spec"]["loadBalancer"]["consistentHash"]["header"]["name"],
                         "x-session-id")

    def test_lint_is_clean(self):
        for values in ({}, {"router": {"enabled": True}, "model": DOWNLOAD,
                            "autoscaling": {"enabled": True}, "serviceMonitor": {"enabled": True}}):
            report = helm.lint(CHART_DIR, values, strict=True, namespace=NAMESPACE)
            problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
            self.assertEqual(problems, [], values)


CHART_DIR = None


def main():
    global ARGS, CHART, CHART_DIR
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    ARGS, rest = parser.parse_known_args()
    CHART_DIR = os.path.join(ARGS.repo, "helm", "smollm-serve")
    CHART = helm.Chart.load(CHART_DIR)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
