#!/usr/bin/env bash
# One step of the Cloud Build pipelines (cloudbuild.yaml: lint, test and package, as
# sf-ci-tester; cloudbuild.deploy.yaml: approve, plan, apply and deploy, as sf-deployer). Each step is a few
# project commands; running them by hand from the repository root does the same thing.
#
#   scripts/build_step.sh lint|schema|unit|integration|package     (cloudbuild.yaml)
#   scripts/build_step.sh require-approval|package|source-bucket|upload|plan|apply|verify-deploy
#                                                                   (cloudbuild.deploy.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."

# Shared by the steps: the provider schema is fetched once into the workspace (kept between steps).
export SPORTSFLOW_PROVIDER_SCHEMA_DIR="${SPORTSFLOW_PROVIDER_SCHEMA_DIR:-$PWD/.cache/provider-google}"

terraform_init() {
  cd infra && terraform init -input=false -backend-config="bucket=${TF_STATE_BUCKET:?}"
  tf_vars=(-var="project_id=${PROJECT_ID:?}" -var="region=${REGION:-us-west1}"
           -var="function_source_bucket=${SOURCE_BUCKET:-$PROJECT_ID-sportsflow-functions}"
           -var="notification_emails=${NOTIFICATION_EMAILS:-[]}")
}

install_project() {  # a venv with the project and its test extras, in the workspace
  command -v python3 >/dev/null && python3 -m venv --help >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null; }
  python3 -m venv .venv-build && source .venv-build/bin/activate
  python -m pip install --quiet --upgrade pip && python -m pip install --quiet -e '.[test]'
}

case "${1:?step}" in
  lint)  # the style gate, and infra/ against the provider schema, the topology and checkov
    install_project
    python -m pip install --quiet ruff
    python -m ruff check --select E,F,W,I --line-length 120 shared tests scripts functions
    python scripts/provider_schema.py --offline --check infra
    python scripts/terraform_drift.py --infra infra
    python3 -m venv .venv-checkov && .venv-checkov/bin/pip install --quiet "checkov==${CHECKOV_VERSION:-3.3.30}"
    .venv-checkov/bin/checkov --directory infra --framework terraform --quiet --compact
    ;;
  schema)  # needs npm: the Google provider schema from @cdktf/provider-google
    python3 scripts/provider_schema.py
    ;;
  unit)  # ../shared/data is not in the build: real-data tests skip (.ci/run requires them); the
         # provider schema is (the schema step), and the lint step fails without it
    install_project
    python -m pytest -q -m "not emulator"
    ;;
  integration)  # starts the emulators in this step (scripts/test.sh) and fails if one is missing
    install_project
    SPORTSFLOW_REQUIRE_EMULATORS=1 scripts/test.sh -q -m emulator
    ;;
  package)
    python3 scripts/package_functions.py --out dist/
    ;;
  source-bucket)  # the zips' bucket must exist before they can be uploaded
    terraform_init
    terraform apply -input=false -auto-approve -target=google_storage_bucket.function_source "${tf_vars[@]}"
    ;;
  upload)  # content-addressed names: unchanged functions are skipped, nothing is overwritten
    gcloud storage cp --no-clobber dist/*.zip "gs://${SOURCE_BUCKET:-$PROJECT_ID-sportsflow-functions}/"
    ;;
  plan)  # the plan the next step applies, printed in the build log
    terraform_init
    terraform plan -input=false -out=tfplan "${tf_vars[@]}" \
      -var-file=../dist/function_sources.tfvars.json
    ;;
  require-approval)  # prod deploys only when a person approved this very build
    decision=$(gcloud builds describe "${BUILD_ID:?}" --region="${BUILD_REGION:-global}" \
                 --format='value(approval.result.decision)')
    if [[ "${DEPLOY_ENV:-prod}" == "prod" && "$decision" != "APPROVED" ]]; then
      echo "build $BUILD_ID is not approved (decision: '${decision:-none}'): run the deploy trigger," \
           "which requires approval (infra/README.md), and approve it in Cloud Build" >&2
      exit 1
    fi
    echo "approval: ${decision:-not required for $DEPLOY_ENV}"
    ;;
  apply)
    (cd infra && terraform apply -input=false tfplan)
    ;;
  verify-deploy)  # every function runs the zip this build packaged
    python3 - "${REGION:-us-west1}" <<'PY'
import json, subprocess, sys
region, failed = sys.argv[1], []
objects = json.load(open("dist/function_sources.tfvars.json"))["function_source_objects"]
for function, expected in sorted(objects.items()):
    name = function.replace("_", "-")
    described = json.loads(subprocess.run(
        ["gcloud", "functions", "describe", name, f"--region={region}", "--format=json"],
        capture_output=True, text=True, check=True).stdout)
    deployed = described["buildConfig"]["source"]["storageSource"]["object"]
    if described.get("state") != "ACTIVE" or deployed != expected:
        failed.append(f"{name}: state {described.get('state')}, source {deployed}, expected {expected}")
print("\n".join(failed) or f"deployed: {len(objects)} functions run this build's packages")
sys.exit(1 if failed else 0)
PY
    ;;
  *)
    echo "unknown step $1" >&2
    exit 2
    ;;
esac
