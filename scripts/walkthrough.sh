#!/usr/bin/env bash
# The walkthrough: a fresh Charter on SQLite taking a real credit model (trained on the German
# credit data) through the whole loop, then the API served.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CHARTER=${CHARTER:-$ROOT/.venv/bin/charter}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
export CHARTER_HOME=${CHARTER_HOME:-$ROOT/.charter-demo}
unset CHARTER_URL CHARTER_TOKEN CHARTER_DATABASE_URL
rm -rf "$CHARTER_HOME"
WORK=$CHARTER_HOME/work
mkdir -p "$WORK"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
token() { "$CHARTER" user add "$1" --role "$2" --format json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
as() { local who=$1; shift; CHARTER_TOKEN=$who "$CHARTER" "$@"; }

step "charter init: SQLite database, first admin, default policy pack (EU AI Act tiers)"
"$CHARTER" init --admin admin
DEV=$(token dana developer)
RISK=$(token rita risk_engineer)
CRO=$(token avery approver)
CCO=$(token blake approver)
"$CHARTER" user list

step "intake: credit scoring is high-risk (EU AI Act Annex III 5(b))"
as "$DEV" system register credit-limit --intake examples/credit-limit/intake.yaml

step "the model team trains a model and hands over a holdout"
cp examples/credit-limit/release.yaml examples/credit-limit/prompt.txt "$WORK/"
"$PYTHON" examples/credit-limit/train.py "$WORK"

step "a content-addressed release: model + prompt + vendor model + data + contract"
DIGEST=$(as "$DEV" release create credit-limit -f "$WORK/release.yaml" --format json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
REF="credit-limit@${DIGEST:0:12}"
echo "release $REF"

step "evaluation evidence: quality, fairness by sex, data quality, robustness"
DATA=(--data "$WORK/holdout.csv" --target risk --bootstrap 100)
as "$DEV" evaluate "$REF" --suite classification "${DATA[@]}" --score score --prediction pred --cohort sex --report "$WORK/classification.html"
as "$DEV" evaluate "$REF" --suite fairness "${DATA[@]}" --prediction pred --cohort sex
as "$DEV" evaluate "$REF" --suite data-quality "${DATA[@]}"
as "$DEV" evaluate "$REF" --suite robustness "${DATA[@]}" --score score --prediction pred --model "$WORK/model.joblib"

step "records of what was done: security tests, the fundamental-rights impact assessment, conformity"
for record in security fria conformity-assessment; do
  echo "$record report for the demo" > "$WORK/$record.txt"
  as "$DEV" evidence record "$REF" --suite "$record" --document "$WORK/$record.txt" --note "demo record"
done
step "guardrail evidence: the declared scanners on attacks and benign prompts / answers"
as "$DEV" evaluate "$REF" --suite guardrails --data examples/credit-limit/guardrails-input.jsonl \
  --options examples/credit-limit/guardrails-input.options.yaml
as "$DEV" evaluate "$REF" --suite guardrails --data examples/credit-limit/guardrails-output.jsonl \
  --options examples/credit-limit/guardrails-output.options.json

step "the release gate, before any decision (exit 1: it fails)"
as "$DEV" gate "$REF" --env prod || true

step "separation of duties: the author cannot approve; the policy wants two approvers"
as "$DEV" approve "$REF" --use-case x --population y --env prod --expires 90d || echo "(refused, as it should be)"
for approver in "$CRO" "$CCO"; do
  as "$approver" approve "$REF" \
    --use-case "credit-limit increases for existing card holders" \
    --population "UK retail credit-card customers aged 18+" \
    --env prod --expires 90d --fallback static:manual-review \
    --note "Evidence reviewed at the model risk committee."
done

step "time-boxed exceptions with compensating controls (approved by someone else)"
LLM=$(as "$DEV" exception request "$REF" --control eval-llm --env prod --expires 21d \
  --justification "LLM explanation evaluation suite not yet available" \
  --compensating "every explanation is sampled for human review (5%) until the suite lands" --format json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
DRILL=$(as "$DEV" exception request "$REF" --control fallback-tested --env prod --expires 14d \
  --justification "fallback drill booked for next sprint" \
  --compensating "manual-review queue staffed for full traffic" --format json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
as "$RISK" exception approve "$LLM" --note "accepted for three weeks"
as "$RISK" exception approve "$DRILL" --note "accepted for two weeks"
"$CHARTER" exception list --expiring 30d

step "the gate passes now; JUnit for CI"
as "$DEV" gate "$REF" --env prod
as "$DEV" gate "$REF" --env prod --format junit --output "$WORK/gate.xml" > /dev/null
echo "JUnit report: $WORK/gate.xml"

step "deploy behind the gate, then the kill switch and back"
as "$DEV" deploy "$REF" --env prod --reason "CHG-1042"
as "$DEV" kill credit-limit --env prod --reason "on-call: fairness alert under investigation"
as "$DEV" resume credit-limit --env prod --reason "false alarm: cohort sample below minimum"
"$CHARTER" status

step "the audit trail verifies; anchor its head outside the database"
"$CHARTER" audit log --limit 8
"$CHARTER" audit verify
echo "anchor: $("$CHARTER" audit head)"

if [ "${DEMO_SERVE:-1}" = "1" ]; then
  step "serving the API on http://127.0.0.1:${PORT:-8000}/api/v1/docs (Ctrl-C to stop)"
  echo "admin token: $("$PYTHON" -c 'import json,os; print(json.load(open(os.environ["CHARTER_HOME"]+"/config.json"))["token"])')"
  exec "$CHARTER" serve --port "${PORT:-8000}"
fi
