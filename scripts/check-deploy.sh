#!/usr/bin/env bash
# The deployment artefacts, each checked by the real tool for it (no Docker engine or cluster runs
# here): hadolint for the Dockerfile, docker-compose for the Compose file, kubectl kustomize and
# kubernetes-validate for the manifests, cfn-lint for CloudFormation, promtool for the alert rules
# and their tests, and the Grafana dashboard's JSON. `make test` runs it.
. "$(dirname "$0")/common.sh"
cd "$ROOT"

VENV="$DATA/deploy-venv"
WANT=$(sha256sum integration/deploy-requirements.txt | cut -c1-64)
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$WANT" ]; then
  log "installing the deployment checkers (integration/deploy-requirements.txt) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r integration/deploy-requirements.txt
  echo "$WANT" > "$VENV/.requirements.sha256"
fi
# docker-compose (v1, PyPI) wants PyYAML 5, which builds only with Cython 2 and no build isolation,
# and cfn-lint wants a newer PyYAML: a virtualenv of its own.
COMPOSE_VENV="$DATA/compose-venv"
if [ ! -x "$COMPOSE_VENV/bin/docker-compose" ]; then
  log "installing docker-compose into $COMPOSE_VENV"
  python3 -m venv "$COMPOSE_VENV"
  "$COMPOSE_VENV/bin/pip" install -q --disable-pip-version-check "cython<3" wheel
  "$COMPOSE_VENV/bin/pip" install -q --disable-pip-version-check --no-build-isolation "pyyaml==5.4.1"
  "$COMPOSE_VENV/bin/pip" install -q --disable-pip-version-check "docker-compose==1.29.2"
fi
if ! command -v promtool >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  log "installing promtool (Debian prometheus)"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

log "hadolint deploy/docker/Dockerfile"
"$VENV/bin/hadolint" deploy/docker/Dockerfile

log "docker-compose config"
env POSTGRES_PASSWORD=x JARVIS_OWNER_PASSWORD=x JARVIS_APP_PASSWORD=x JARVIS_PLATFORM_PASSWORD=x \
    JARVIS_API_KEY_PEPPER=x JARVIS_MASTER_KEY=x \
  "$COMPOSE_VENV/bin/docker-compose" -f deploy/docker/docker-compose.yml config -q

log "kubectl kustomize + kubernetes-validate (dev and prod overlays)"
for overlay in dev prod; do
  kubectl kustomize "deploy/kubernetes/overlays/$overlay" > "$DATA/kustomize-$overlay.yaml"
  # Custom resources (ServiceMonitor, CloudNativePG) have no schema here: a warning, checked by kustomize only.
  "$VENV/bin/kubernetes-validate" --strict --quiet "$DATA/kustomize-$overlay.yaml"
done

log "cfn-lint deploy/aws/jarvis.yaml"
"$VENV/bin/cfn-lint" deploy/aws/jarvis.yaml

log "promtool check rules + test rules"
promtool check rules deploy/prometheus/alerts.yml
# The config names the rules where the container mounts them; checked beside a copy of them.
sed 's#/etc/prometheus/##' deploy/prometheus/prometheus.yml > "$DATA/prometheus-check.yml"
cp deploy/prometheus/alerts.yml "$DATA/alerts.yml"
promtool check config "$DATA/prometheus-check.yml"
(cd deploy/prometheus && promtool test rules alerts.test.yml)

log "Grafana dashboard"
python3 - <<'PY'
import json
dashboard = json.load(open("deploy/grafana/dashboards/jarvis.json"))
assert dashboard["uid"] and dashboard["panels"], "a dashboard with panels"
for panel in dashboard["panels"]:
    assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
print(f"{len(dashboard['panels'])} panels")
PY
log "deployment artefacts check out"
